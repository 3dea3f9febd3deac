package provider_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/local"
	"github.com/funcx-go/funcx/provider/providertest"
)

func TestLauncherWrapText(t *testing.T) {
	t.Parallel()
	singleNode, err := os.ReadFile(filepath.Join("testdata", "single-node-3.sh"))
	if err != nil {
		t.Fatal(err)
	}
	const cmd = `funcx-manager --block "$BLOCK" --addr 'host:5000'`
	const quoted = `'funcx-manager --block "$BLOCK" --addr '\''host:5000'\'''`
	tests := []struct {
		name     string
		launcher provider.Launcher
		tasks    int
		nodes    int
		want     string
	}{
		{"simple", provider.Simple{}, 4, 2, cmd},
		{"single node", provider.SingleNode{}, 3, 1, strings.TrimSuffix(string(singleNode), "\n")},
		{"single node ignores nodes", provider.SingleNode{}, 3, 5, strings.TrimSuffix(string(singleNode), "\n")},
		{"srun", provider.Srun{}, 4, 2, "srun --ntasks=8 --ntasks-per-node=4 --nodes=2 /bin/bash -c " + quoted},
		{"srun overrides", provider.Srun{Overrides: " --cpu-bind=none "}, 1, 1, "srun --ntasks=1 --ntasks-per-node=1 --nodes=1 --cpu-bind=none /bin/bash -c " + quoted},
		{"srun zero counts are one", provider.Srun{}, 0, 0, "srun --ntasks=1 --ntasks-per-node=1 --nodes=1 /bin/bash -c " + quoted},
		{"mpiexec", provider.Mpiexec{}, 4, 2, "mpiexec -n 8 -ppn 4 /bin/bash -c " + quoted},
		{"mpiexec overrides", provider.Mpiexec{Overrides: "--hostfile $PBS_NODEFILE"}, 2, 3, "mpiexec -n 6 -ppn 2 --hostfile $PBS_NODEFILE /bin/bash -c " + quoted},
		{"aprun", provider.Aprun{}, 4, 2, "aprun -n 8 -N 4 /bin/bash -c " + quoted},
		{"aprun overrides", provider.Aprun{Overrides: "-cc none"}, 1, 3, "aprun -n 3 -N 1 -cc none /bin/bash -c " + quoted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.launcher.Wrap(cmd, tt.tasks, tt.nodes); got != tt.want {
				t.Errorf("Wrap() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestLauncherWrapIsValidBash(t *testing.T) {
	t.Parallel()
	for _, name := range provider.LauncherNames() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, err := provider.LauncherByName(name)
			if err != nil {
				t.Fatal(err)
			}
			script := l.Wrap(`echo "it's $HOME" | tr a b; if true; then :; fi`, 2, 2)
			if out, err := exec.Command("/bin/bash", "-n", "-c", script).CombinedOutput(); err != nil {
				t.Errorf("bash -n rejects the wrapped command: %v\n%s\n%s", err, out, script)
			}
		})
	}
}

func TestLauncherByName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want provider.Launcher
	}{
		{"single-node", provider.SingleNode{}},
		{"single_node", provider.SingleNode{}},
		{"SingleNodeLauncher", provider.SingleNode{}},
		{" simple ", provider.Simple{}},
		{"SimpleLauncher", provider.Simple{}},
		{"srun", provider.Srun{}},
		{"SRUN", provider.Srun{}},
		{"mpiexec", provider.Mpiexec{}},
		{"MpiExecLauncher", provider.Mpiexec{}},
		{"aprun", provider.Aprun{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := provider.LauncherByName(tt.name)
			if err != nil || got != tt.want {
				t.Errorf("LauncherByName(%q) = %#v, %v; want %#v", tt.name, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "jsrun", "single"} {
		t.Run("unknown "+bad, func(t *testing.T) {
			t.Parallel()
			_, err := provider.LauncherByName(bad)
			if err == nil {
				t.Fatalf("LauncherByName(%q) accepted it", bad)
			}
			for _, valid := range provider.LauncherNames() {
				if !strings.Contains(err.Error(), valid) {
					t.Errorf("error %q does not list %q", err, valid)
				}
			}
		})
	}
}

// runBash runs script with bash in its own process group (the
// single-node launcher signals its group) and returns its exit code.
func runBash(t *testing.T, script string, env ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/bash", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run bash: %v", err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	slices.Sort(lines)
	return lines
}

func TestSingleNodeRuns(t *testing.T) {
	t.Parallel()
	t.Run("starts every copy with its rank and waits for all", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "ranks")
		script := provider.SingleNode{}.Wrap(`sleep 0.2; echo "rank$FUNCX_LAUNCH_RANK" >> "$OUT"`, 3, 1)
		code, output := runBash(t, script, "OUT="+out)
		if code != 0 {
			t.Fatalf("exit code %d: %s", code, output)
		}
		if got, want := readLines(t, out), []string{"rank0", "rank1", "rank2"}; !slices.Equal(got, want) {
			t.Errorf("copies wrote %v, want %v", got, want)
		}
	})
	t.Run("exits with the first failure", func(t *testing.T) {
		t.Parallel()
		script := provider.SingleNode{}.Wrap(`case $FUNCX_LAUNCH_RANK in 1) exit 7;; 2) exit 9;; esac`, 3, 1)
		if code, output := runBash(t, script); code != 7 {
			t.Errorf("exit code %d, want 7: %s", code, output)
		}
	})
	t.Run("zero tasks start one copy", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "ranks")
		code, output := runBash(t, provider.SingleNode{}.Wrap(`echo "rank$FUNCX_LAUNCH_RANK" >> "$OUT"`, 0, 0), "OUT="+out)
		if got := readLines(t, out); code != 0 || !slices.Equal(got, []string{"rank0"}) {
			t.Errorf("exit %d, copies wrote %v: %s", code, got, output)
		}
	})
	t.Run("SIGTERM to the launcher stops every copy", func(t *testing.T) {
		t.Parallel()
		started := filepath.Join(t.TempDir(), "started")
		script := provider.SingleNode{}.Wrap(`echo up >> "$OUT"; sleep 3600`, 2, 1)
		cmd := exec.Command("/bin/bash", "-c", script)
		cmd.Env = append(os.Environ(), "OUT="+started)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pgid := cmd.Process.Pid
		t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		providertest.WaitFor(t, 10*time.Second, "both copies started", func() bool {
			b, _ := os.ReadFile(started)
			return strings.Count(string(b), "up") == 2
		})
		// Only the launcher itself is signalled, as "kill <pid>" would.
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 143 {
			t.Errorf("launcher exited %d (%v), want 143", code, err)
		}
		providertest.WaitFor(t, 10*time.Second, "the copies gone", func() bool { return !local.GroupAlive(pgid) })
	})
	t.Run("SIGTERM to the group waits for every copy's clean-up", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		started, cleaned := filepath.Join(dir, "started"), filepath.Join(dir, "cleaned")
		// Each copy, like a manager, takes a while to clean up on SIGTERM.
		script := provider.SingleNode{}.Wrap(`trap 'sleep 0.3; echo done >> "$CLEANED"; exit 0' TERM
echo up >> "$STARTED"
while :; do sleep 0.05; done`, 2, 1)
		cmd := exec.Command("/bin/bash", "-c", script)
		cmd.Env = append(os.Environ(), "STARTED="+started, "CLEANED="+cleaned)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pgid := cmd.Process.Pid
		t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		providertest.WaitFor(t, 10*time.Second, "both copies started", func() bool {
			b, _ := os.ReadFile(started)
			return strings.Count(string(b), "up") == 2
		})
		// The whole group is signalled, as a provider's cancel does; the
		// provider kills what is left once the launcher has exited.
		if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		b, _ := os.ReadFile(cleaned)
		if n := strings.Count(string(b), "done"); n != 2 {
			t.Errorf("%d copies had finished their clean-up when the launcher exited, want 2", n)
		}
	})
}

func TestSimpleRuns(t *testing.T) {
	t.Parallel()
	code, out := runBash(t, provider.Simple{}.Wrap(`echo "hello $WHO"; exit 4`, 3, 2), "WHO=world")
	if code != 4 || out != "hello world\n" {
		t.Errorf("exit %d, output %q", code, out)
	}
}
