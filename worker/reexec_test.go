package worker_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker"
	"github.com/funcx-go/funcx/worker/workertest"
)

// TestMainReexec runs this test binary as a worker process, the way a
// manager re-executes a binary that calls worker.Main: FUNCX_ROLE=worker
// and a socketpair end as descriptor 3.
func TestMainReexec(t *testing.T) {
	t.Parallel()

	t.Run("shell and Go tasks, then shutdown", func(t *testing.T) {
		t.Parallel()
		p := workertest.Start(t, exec.Command(os.Args[0]), 7)
		if p.Ready.Worker != 7 || p.Ready.PID != p.Cmd.Process.Pid || p.Ready.Container != "" {
			t.Errorf("ready %+v, want worker 7 pid %d", p.Ready, p.Cmd.Process.Pid)
		}
		// The worker's own variables must not leak into its tasks: a task
		// that runs a worker binary must not turn into a worker.
		shell := newTask(funcx.Shell(`echo "{greeting} ${{FUNCX_ROLE:-unset}} ${{FUNCX_WORKER_FD:-unset}}"`), `{"greeting": "hi"}`)
		goTask := newTask(funcx.GoFunc(fnAdd), `{"A": 20, "B": 22}`)
		rs, err := p.Run(shell, goTask)
		if err != nil {
			t.Fatal(err)
		}
		checkEnvelope(t, &shell, &rs[0], 7)
		checkEnvelope(t, &goTask, &rs[1], 7)
		wantSuccess(t, rs[0])
		if got := string(rs[0].Stdout); got != "hi unset unset\n" {
			t.Errorf("shell stdout %q", got)
		}
		wantSuccess(t, rs[1])
		if got := decode[int](t, rs[1].Output); got != 42 {
			t.Errorf("go output %d", got)
		}
		if err := p.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Errorf("worker exit after shutdown: %v; stderr:\n%s", err, p.Stderr)
		}
	})

	t.Run("manager gone kills the task and exits 0", func(t *testing.T) {
		t.Parallel()
		p := workertest.Start(t, exec.Command(os.Args[0]), 0)
		task, pidFile := childTask(t, "wait")
		if err := p.Send(task); err != nil {
			t.Fatal(err)
		}
		pid := readPID(t, pidFile)
		start := time.Now()
		p.Close()
		if err := p.Wait(); err != nil {
			t.Errorf("worker exit after EOF: %v; stderr:\n%s", err, p.Stderr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("worker took %v to exit", took)
		}
		waitGone(t, pid)
	})

	t.Run("protocol error exits 1 with a message", func(t *testing.T) {
		t.Parallel()
		p := workertest.Start(t, exec.Command(os.Args[0]), 0)
		if err := p.WriteFrame(99, nil); err != nil {
			t.Fatal(err)
		}
		err := p.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(p.Stderr.String(), "unexpected MsgType(99) frame") {
			t.Errorf("exit %v, stderr %q", err, p.Stderr)
		}
	})

	t.Run("SIGTERM exits 0", func(t *testing.T) {
		t.Parallel()
		p := workertest.Start(t, exec.Command(os.Args[0]), 0)
		if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, p.Stderr)
		}
	})

	t.Run("bad environment exits 2", func(t *testing.T) {
		t.Parallel()
		for name, env := range map[string][]string{
			"no connection": nil,
			"bad fd":        {worker.EnvFD + "=x"},
			"bad id":        {worker.EnvFD + "=3", worker.EnvWorkerID + "=-4"},
			"bad addr":      {worker.EnvAddr + "=udp:1.2.3.4:5"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), append(env, worker.EnvRole+"="+worker.RoleWorker)...)
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "funcx worker") {
					t.Errorf("exit %v, output %q", err, out)
				}
			})
		}
	})

	t.Run("dial an address", func(t *testing.T) {
		t.Parallel()
		sock := t.TempDir() + "/w.sock"
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), worker.EnvRole+"="+worker.RoleWorker, worker.EnvAddr+"=unix:"+sock,
			worker.EnvWorkerID+"=5", worker.EnvContainer+"=img")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c := workertest.NewConn(conn)
		ready, err := c.ReadReady()
		if err != nil || ready.Worker != 5 || ready.Container != "img" {
			t.Fatalf("ready %+v, %v", ready, err)
		}
		rs, err := c.Run(newTask(funcx.GoFunc(worker.NameEcho), `"over unix"`))
		if err != nil || string(rs[0].Output) != `"over unix"` {
			t.Errorf("results %+v, %v", rs, err)
		}
		c.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("worker exit: %v", err)
		}
	})
}
