package daemon

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/procfs"
)

// A Disconnected profile (its daemon died) is cleaned up, not signalled.
func TestStopCleansUpAfterADeadDaemon(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	if err := os.WriteFile(p.Path(profile.PIDFile), []byte("999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.SaveRun(profile.RunRecord{RunID: "no-such-run", ProviderType: "local"}); err != nil {
		t.Fatal(err)
	}
	rep, err := Stop(context.Background(), p, StopConfig{Progress: func(s StopProgress) { t.Errorf("progress %+v", s) }})
	if err != nil || rep.PID != 0 || rep.Cleanup == nil || !rep.Cleanup.Stale || rep.Cleanup.RunID != "no-such-run" || rep.Cleanup.ConfigErr != nil {
		t.Fatalf("stop: %+v, %v", rep, err)
	}
	if got := rep.Cleanup.Summary(p.Name); got != "Endpoint default was not stopped cleanly: cleaned up." {
		t.Fatalf("summary %q", got)
	}
	if st, _ := p.Status(); st.State != profile.Stopped {
		t.Fatalf("after the clean-up: %v", st.State)
	}
}

// A daemon that does not stop within the timeout is killed and cleaned
// up after; a timeout shorter than the grace period is warned about.
func TestStopKillsAStuckDaemon(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	cmd := startLockHolder(t, p, "stubborn")
	var events []StopEvent
	rep, err := Stop(context.Background(), p, StopConfig{Timeout: 200 * time.Millisecond, Progress: func(s StopProgress) {
		events = append(events, s.Event)
	}})
	if err != nil || rep.PID != cmd.Process.Pid || rep.Cleanup == nil || !rep.Cleanup.Stale {
		t.Fatalf("stop: %+v, %v", rep, err)
	}
	if want := []StopEvent{StopShortTimeout, StopSignalled, StopKilling}; !slices.Equal(events, want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	if st, _ := p.Status(); st.State != profile.Stopped {
		t.Fatalf("after the kill: %v", st.State)
	}
}

// Stop returns once the daemon's process has exited, not when it
// released its lock, which it does just before (the old Stop waited for
// PID 0, so a test could see the daemon alive after stop). The daemon is
// named by PID and start time, so a PID used again by another process
// is not waited for.
func TestStopWaitsForTheDaemonsExit(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	cmd := startLockHolder(t, p, "lingering")
	daemon, ok := procfs.Identify(cmd.Process.Pid)
	if !ok {
		t.Fatal("the lingering daemon is not running")
	}
	rep, err := Stop(context.Background(), p, StopConfig{})
	if err != nil || rep.PID != cmd.Process.Pid || rep.Cleanup != nil {
		t.Fatalf("stop: %+v, %v", rep, err)
	}
	if daemon.Alive() {
		t.Fatalf("Stop returned while daemon %d still ran", daemon.PID)
	}
}

func TestCleanupSummary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rep  CleanupReport
		want string
	}{
		{CleanupReport{}, ""},
		{CleanupReport{CleanupReport: profile.CleanupReport{Stale: true, RunID: "r", Killed: []int{7}}, RemovedContainers: 2},
			"Endpoint e was not stopped cleanly: cleaned up, stopped 1 leftover process of run r, removed 2 leftover containers of run r."},
		{CleanupReport{CleanupReport: profile.CleanupReport{Stale: true, RunID: "r", Killed: []int{7, 8}, Cancelled: []string{"11", "12"}}, RemovedContainers: 1},
			"Endpoint e was not stopped cleanly: cleaned up, stopped 2 leftover processes of run r, removed 1 leftover container of run r, cancelled blocks 11, 12."},
	} {
		if got := tc.rep.Summary("e"); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// startLockHolder starts the test binary as a daemon of p that only
// holds its lock (mode "stubborn" or "lingering", see serveAsChild), and
// returns once it holds it; the test's cleanup kills and reaps it.
func startLockHolder(t *testing.T, p *profile.Profile, mode string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, p.Name)
	cmd.Env = append(os.Environ(), envChild+"="+mode, client.EnvHome+"="+p.Home)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("the %s daemon said %q, %v", mode, line, err)
	}
	return cmd
}
