package profile

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newProfile(t *testing.T) *Profile {
	t.Helper()
	p, err := New(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Create(); err != nil {
		t.Fatal(err)
	}
	return p
}

func state(t *testing.T, p *Profile) Status {
	t.Helper()
	st, err := p.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestStates(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	if st := state(t, p); st.State != Initialized || st.EndpointID != "" {
		t.Fatalf("fresh profile: %+v", st)
	}
	if _, err := os.Stat(p.Path(PIDFile)); !os.IsNotExist(err) {
		t.Fatal("a status probe created daemon.pid")
	}
	if err := p.SaveRegistration(Registration{EndpointID: "ep-1"}); err != nil {
		t.Fatal(err)
	}
	if st := state(t, p); st.State != Stopped || st.EndpointID != "ep-1" {
		t.Fatalf("registered: %+v", st)
	}

	lock, err := p.AcquireDaemonLock()
	if err != nil {
		t.Fatal(err)
	}
	if st := state(t, p); st.State != Running || st.PID != os.Getpid() {
		t.Fatalf("locked: %+v", st)
	}
	var re *RunningError
	if _, err := p.AcquireDaemonLock(); !errors.As(err, &re) || re.PID != os.Getpid() {
		t.Fatalf("second daemon: %v", err)
	}
	if _, err := p.Cleanup(context.Background(), nil); !errors.As(err, &re) {
		t.Fatalf("clean-up of a running profile: %v", err)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	if st := state(t, p); st.State != Stopped {
		t.Fatalf("released: %+v", st)
	}

	// A pid file nobody holds is what a killed daemon leaves: even with
	// the pid of a live process (pids are reused), it is Disconnected.
	if err := os.WriteFile(p.Path(PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := state(t, p); st.State != Disconnected || st.PID != os.Getpid() {
		t.Fatalf("stale pid file: %+v", st)
	}
	rep, err := p.Cleanup(context.Background(), nil)
	if err != nil || !rep.Stale {
		t.Fatalf("clean-up: %+v, %v", rep, err)
	}
	if st := state(t, p); st.State != Stopped {
		t.Fatalf("after clean-up: %+v", st)
	}
	// A daemon may take over only a cleaned-up profile; a stale pid file
	// is replaced.
	lock, err = p.AcquireDaemonLock()
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
}

// Clean-up after a crash stops the run's processes, however detached,
// and cancels its batch blocks.
func TestCleanupStopsLeftovers(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	runID := "test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	// A leftover "manager" in a session of its own that ignores SIGTERM,
	// and an unrelated process that must survive.
	leftover := exec.Command("sh", "-c", "trap '' TERM; while :; do sleep 0.05; done")
	leftover.Env = append(os.Environ(), EnvRunID+"="+runID)
	bystander := exec.Command("sleep", "30")
	bystander.Env = append(os.Environ(), EnvRunID+"=another-run")
	for _, c := range []*exec.Cmd{leftover, bystander} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	}
	waited := make(chan struct{})
	go func() { _ = leftover.Wait(); close(waited) }()
	if err := p.SaveRun(RunRecord{RunID: runID, ProviderType: "slurm", Blocks: []BlockRecord{{BlockID: "0", JobID: "41"}, {BlockID: "1", JobID: "42"}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.Path(PIDFile), []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var cancelled []string
	rep, err := p.Cleanup(context.Background(), func(_ context.Context, typ string, ids []string) error {
		if typ != "slurm" {
			t.Errorf("provider type %q", typ)
		}
		cancelled = ids
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("the leftover process still runs")
	}
	// The shell and its sleep carry the run ID.
	if !slices.Contains(rep.Killed, leftover.Process.Pid) || strings.Join(cancelled, ",") != "41,42" || rep.RunID != runID {
		t.Fatalf("report %+v, cancelled %v", rep, cancelled)
	}
	if err := syscall.Kill(bystander.Process.Pid, 0); err != nil || slices.Contains(rep.Killed, bystander.Process.Pid) {
		t.Fatalf("the process of another run was stopped: %v", err)
	}
	for _, f := range []string{PIDFile, RunFile} {
		if _, err := os.Stat(p.Path(f)); !os.IsNotExist(err) {
			t.Errorf("%s is still there", f)
		}
	}
}

func TestCreateRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	if err := os.WriteFile(p.Path(ConfigFile), []byte("display_name = \"mine\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.Create(); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	if b, _ := os.ReadFile(p.Path(ConfigFile)); string(b) != "display_name = \"mine\"\n" {
		t.Fatal("config.toml was overwritten")
	}
	names, err := List(p.Home)
	if err != nil || len(names) != 1 || names[0] != "test" {
		t.Fatalf("list: %v, %v", names, err)
	}
	if err := os.MkdirAll(filepath.Join(p.Home, "not-a-profile"), 0o700); err != nil {
		t.Fatal(err)
	}
	if names, _ := List(p.Home); len(names) != 1 {
		t.Fatalf("a directory without config.toml is listed: %v", names)
	}
	for _, bad := range []string{"", "../x", "a/b", ".hidden", "-x"} {
		if _, err := New(p.Home, bad); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

// Two commands that change a profile do not run at once.
func TestLockCommand(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	unlock, err := p.LockCommand()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.LockCommand(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock, err = p.LockCommand()
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock()
}
