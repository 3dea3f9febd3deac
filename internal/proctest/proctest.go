// Package proctest finds processes by their environment, so tests can
// prove that nothing a run started outlives it.
package proctest

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/internal/procfs"
)

// WithEnv returns the live (not zombie) processes whose initial
// environment contains the entry key=value.
func WithEnv(key, value string) []int {
	want := []byte(key + "=" + value)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		found := false
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				found = true
				break
			}
		}
		if st, ok := procfs.ReadStat(pid); found && ok && st.Live() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// WaitGone fails the test unless no process with key=value remains
// within the timeout.
func WaitGone(t testing.TB, key, value string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pids := WithEnv(key, value)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes with %s=%s still running after %s: %v (%s)", key, value, timeout, pids, describe(pids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(pids []int) string {
	var parts []string
	for _, pid := range pids {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		parts = append(parts, strconv.Itoa(pid)+":"+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return strings.Join(parts, "; ")
}
