package procfs

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestReadStatOfSelfAndChild(t *testing.T) {
	st, ok := ReadStat(os.Getpid())
	if !ok || !st.Live() || st.PPID != os.Getppid() {
		t.Fatalf("self: %+v %v", st, ok)
	}
	cmd := exec.Command("sleep", "10")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	found := Find(func(p int, st Stat) bool { return st.Session == pid })
	if len(found) != 1 || found[0] != pid {
		t.Fatalf("session members %v, want [%d]", found, pid)
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	if _, ok := ReadStat(pid); ok {
		t.Fatal("reaped process still has a stat")
	}
}

// A command name may hold spaces and parentheses; the fields are counted
// from the last ')'.
func TestParseStat(t *testing.T) {
	line := "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n"
	st, ok := parseStat([]byte(line))
	if want := (Stat{State: 'S', PPID: 1, PGRP: 4242, Session: 4242, Start: 987654}); !ok || st != want {
		t.Fatalf("parseStat = %+v, %v; want %+v", st, ok, want)
	}
	for _, bad := range []string{"", "1 (x)", "1 (x) S 1 2 3", "1 (x) SS 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5", "1 (x) S 1 2 3 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5"} {
		if st, ok := parseStat([]byte(bad)); ok {
			t.Errorf("parseStat(%q) = %+v, want not ok", bad, st)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000\n"))
	f.Add([]byte("1 (x)"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := parseStat(b)
		if !ok && st != (Stat{}) {
			t.Fatalf("not ok but %+v", st)
		}
	})
}

// A Proc is alive while its process runs, and not once it has exited,
// whatever process takes its PID next.
func TestProcAlive(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, ok := Identify(cmd.Process.Pid)
	if !ok || !p.Alive() {
		t.Fatalf("Identify(%d) = %+v, %v; alive %v", cmd.Process.Pid, p, ok, p.Alive())
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	if p.Alive() {
		t.Fatalf("%+v alive after it was reaped", p)
	}
	self, ok := Identify(os.Getpid())
	if !ok {
		t.Fatal("Identify(self) failed")
	}
	// The same PID with another start time: a process that took the PID.
	if (Proc{PID: self.PID, Start: self.Start + 1}).Alive() {
		t.Fatal("a Proc whose start time differs from its PID's process counts as alive")
	}
}
