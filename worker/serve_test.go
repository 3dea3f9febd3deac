package worker_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/worker"
	"github.com/funcx-go/funcx/worker/workertest"
)

// serveErr waits for Serve's error.
func serveErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

func TestServe(t *testing.T) {
	t.Parallel()

	t.Run("ready first with its fields", func(t *testing.T) {
		t.Parallel()
		_, ready, _ := workertest.Serve(t, worker.Config{WorkerID: 12, Container: "docker.io/library/python:3.12"})
		host, _ := os.Hostname()
		want := wire.Ready{Worker: 12, PID: os.Getpid(), Hostname: host, Container: "docker.io/library/python:3.12"}
		if ready != want {
			t.Errorf("ready %+v, want %+v", ready, want)
		}
	})

	t.Run("one result per task in order", func(t *testing.T) {
		t.Parallel()
		c := serve(t, worker.Config{WorkerID: 1})
		tasks := []funcx.Task{
			newTask(funcx.GoFunc(worker.NameEcho), `"first"`),
			newTask(funcx.Shell("echo second"), ""),
			newTask(funcx.GoFunc("missing"), ""),
			newTask(funcx.GoFunc(fnAdd), `{"A": 1, "B": 3}`),
		}
		rs, err := c.Run(tasks...)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(tasks) {
			t.Fatalf("%d results for %d tasks", len(rs), len(tasks))
		}
		for i := range tasks {
			checkEnvelope(t, &tasks[i], &rs[i], 1)
		}
		if string(rs[0].Output) != `"first"` || string(rs[1].Stdout) != "second\n" ||
			rs[2].Error == nil || string(rs[3].Output) != "4" {
			t.Errorf("results out of order: %+v", rs)
		}
		// The connection stays usable, and an empty batch is harmless.
		if rs, err := c.Run(); err != nil || len(rs) != 0 {
			t.Errorf("empty batch: %v, %v", rs, err)
		}
		if rs, err := c.Run(newTask(funcx.GoFunc(worker.NameNoop), "")); err != nil || rs[0].Error != nil {
			t.Errorf("after: %v, %v", rs, err)
		}
	})

	t.Run("batches queued behind a running task", func(t *testing.T) {
		t.Parallel()
		c := serve(t, worker.Config{})
		first := newTask(funcx.GoFunc(worker.NameSleep), `"30ms"`)
		second := newTask(funcx.GoFunc(worker.NameEcho), `2`)
		if err := c.Send(first); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(second); err != nil {
			t.Fatal(err)
		}
		rs, err := c.RecvN(2)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []funcx.TaskID{first.ID, second.ID} {
			if rs[i].TaskID != want || rs[i].Error != nil {
				t.Fatalf("result %d: %+v; want task %v", i, rs[i], want)
			}
		}
	})

	t.Run("a result is not held back by the long task queued behind it", func(t *testing.T) {
		t.Parallel()
		c := serve(t, worker.Config{})
		quick := newTask(funcx.GoFunc(worker.NameNoop), "")
		if err := c.Send(quick, newTask(funcx.GoFunc(fnWait), "")); err != nil {
			t.Fatal(err)
		}
		// The second task runs until shutdown: the first's result must
		// come on its own, while it runs.
		rs, err := c.Recv()
		if err != nil || len(rs) != 1 || rs[0].TaskID != quick.ID {
			t.Fatalf("results %+v, %v; want only task %v", rs, err, quick.ID)
		}
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if rs, err := c.RecvN(1); err != nil {
			t.Fatal(err)
		} else {
			wantError(t, rs[0], funcx.Cancelled)
		}
	})

	t.Run("reclaim hands back the tasks not started, and only those", func(t *testing.T) {
		t.Parallel()
		c, _, done := workertest.Serve(t, worker.Config{})
		running, pidFile := childTask(t, "wait")
		if err := c.Send(running); err != nil {
			t.Fatal(err)
		}
		readPID(t, pidFile) // it runs: what comes now waits behind it
		queued := []funcx.Task{newTask(funcx.GoFunc(worker.NameNoop), ""), newTask(funcx.GoFunc(worker.NameEcho), `1`)}
		if err := c.Send(queued...); err != nil {
			t.Fatal(err)
		}
		ids, err := c.Reclaim()
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 2 || ids[0] != queued[0].ID || ids[1] != queued[1].ID {
			t.Fatalf("handed back %v, want the queued %v and %v", ids, queued[0].ID, queued[1].ID)
		}
		if ids, err := c.Reclaim(); err != nil || len(ids) != 0 {
			t.Fatalf("second reclaim: %v, %v; want nothing left to hand back", ids, err)
		}
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
		rs, err := c.RecvN(1)
		if err != nil || rs[0].TaskID != running.ID {
			t.Fatalf("results %+v, %v; want only the running task's", rs, err)
		}
		if err := serveErr(t, done); err != nil {
			t.Errorf("Serve: %v", err)
		}
		if rs, err := c.Recv(); err == nil {
			t.Fatalf("results for handed-back tasks: %+v", rs)
		}
	})

	t.Run("EOF between tasks returns nil", func(t *testing.T) {
		t.Parallel()
		c, _, done := workertest.Serve(t, worker.Config{})
		c.Close()
		if err := serveErr(t, done); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	t.Run("EOF during a shell task kills it", func(t *testing.T) {
		t.Parallel()
		c, _, done := workertest.Serve(t, worker.Config{})
		task, pidFile := childTask(t, "wait")
		if err := c.Send(task); err != nil {
			t.Fatal(err)
		}
		pid := readPID(t, pidFile)
		c.Close()
		if err := serveErr(t, done); err != nil {
			t.Errorf("Serve: %v", err)
		}
		waitGone(t, pid)
	})

	t.Run("EOF during a Go task cancels it", func(t *testing.T) {
		t.Parallel()
		c, _, done := workertest.Serve(t, worker.Config{})
		if err := c.Send(newTask(funcx.GoFunc(worker.NameSleep), `"1h"`)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let it start
		c.Close()
		if err := serveErr(t, done); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	t.Run("shutdown cancels the running task and answers it", func(t *testing.T) {
		t.Parallel()
		c, _, done := workertest.Serve(t, worker.Config{})
		running := newTask(funcx.GoFunc(fnWait), "")
		queued := newTask(funcx.GoFunc(worker.NameNoop), "")
		if err := c.Send(running, queued); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if err := c.Shutdown(); err != nil {
			t.Fatal(err)
		}
		rs, err := c.RecvN(2)
		if err != nil || len(rs) != 2 {
			t.Fatalf("results %+v, %v", rs, err)
		}
		wantError(t, rs[0], funcx.Cancelled, "manager sent shutdown")
		wantError(t, rs[1], funcx.Cancelled, "not started")
		if err := serveErr(t, done); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	t.Run("context cancel stops Serve", func(t *testing.T) {
		t.Parallel()
		a, b := net.Pipe()
		defer a.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- worker.Serve(ctx, b, worker.Config{}) }()
		c := workertest.NewConn(a)
		if _, err := c.ReadReady(); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(newTask(funcx.GoFunc(fnWait), "")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
		rs, err := c.Recv()
		if err != nil || len(rs) != 1 {
			t.Fatalf("results %+v, %v", rs, err)
		}
		wantError(t, rs[0], funcx.Cancelled)
		if err := serveErr(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v, want context.Canceled", err)
		}
	})

	t.Run("protocol errors", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name    string
			typ     wire.MsgType
			payload []byte
			want    string
		}{
			{"malformed tasks", wire.MsgTasks, []byte{5, 1, 2}, "decode tasks frame"},
			{"unexpected type", wire.MsgHello, []byte("FXGO"), "unexpected hello frame"},
			{"results to a worker", wire.MsgResults, wire.AppendResults(nil, nil), "unexpected results frame"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c, _, done := workertest.Serve(t, worker.Config{})
				if err := c.WriteFrame(tc.typ, tc.payload); err != nil {
					t.Fatal(err)
				}
				err := serveErr(t, done)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Serve: %v, want an error with %q", err, tc.want)
				}
			})
		}
	})

	t.Run("frame over the limit", func(t *testing.T) {
		t.Parallel()
		c, _, done := workertest.Serve(t, worker.Config{MaxFrame: 1024})
		if err := c.Send(newTask(funcx.GoFunc(worker.NameEcho), `"`+strings.Repeat("x", 2000)+`"`)); err != nil {
			t.Fatal(err)
		}
		if err := serveErr(t, done); !errors.Is(err, wire.ErrFrameTooLarge) {
			t.Errorf("Serve: %v, want ErrFrameTooLarge", err)
		}
	})

	t.Run("result too large for a frame", func(t *testing.T) {
		t.Parallel()
		c := serve(t, worker.Config{MaxFrame: 4096})
		rs, err := c.Run(newTask(funcx.Shell("head -c 10000 /dev/zero"), ""), newTask(funcx.GoFunc(worker.NameNoop), ""))
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, rs[0], funcx.ResultTooLarge, "frame limit")
		wantSuccess(t, rs[1])
	})

	t.Run("bad config", func(t *testing.T) {
		t.Parallel()
		a, b := net.Pipe()
		defer a.Close()
		err := worker.Serve(context.Background(), b, worker.Config{WorkerID: -1})
		if err == nil || !strings.Contains(err.Error(), "WorkerID") {
			t.Errorf("Serve: %v, want an error naming WorkerID", err)
		}
	})
}
