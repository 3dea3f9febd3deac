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
