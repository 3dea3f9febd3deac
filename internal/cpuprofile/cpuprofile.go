// Package cpuprofile lets the processes an endpoint starts (managers and
// workers) write CPU profiles, so that the fabric's hot paths can be
// profiled where they run rather than guessed at from the outside.
//
// Set FUNCX_CPUPROFILE_DIR to a directory before starting an endpoint (or
// the bench harness); each manager and worker then writes
// ROLE-PID.pprof there when it exits cleanly. Inspect with
// `go tool pprof -top DIR/manager-*.pprof`.
package cpuprofile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"
)

// EnvDir names the directory that receives the profiles. Unset (the
// default), nothing is profiled.
const EnvDir = "FUNCX_CPUPROFILE_DIR"

// EnvDuration, when set to a duration ("10s"), ends each profile that long
// after the process starts, for processes that are killed rather than
// stopped.
const EnvDuration = "FUNCX_CPUPROFILE_DURATION"

// Start begins profiling this process as role when EnvDir is set, and
// returns the function that stops and writes the profile. Profiling is a
// diagnostic aid: a failure to start it is reported on stderr and
// otherwise ignored.
func Start(role string) (stop func()) {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		return func() {}
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", role, os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cpu profile: %v\n", role, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cpu profile: %v\n", role, err)
		f.Close()
		os.Remove(path)
		return func() {}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
	if d, err := time.ParseDuration(os.Getenv(EnvDuration)); err == nil && d > 0 {
		time.AfterFunc(d, stop)
	}
	return stop
}
