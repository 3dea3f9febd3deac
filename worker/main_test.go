package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker"
	"github.com/funcx-go/funcx/worker/workertest"
)

func TestMain(m *testing.M) {
	// Tests re-execute this binary as a worker: it then never returns.
	worker.Main()
	goleak.VerifyTestMain(m)
}

// Functions of the test binary, registered at init so that the binary
// re-executed as a worker has them too.
const (
	fnAdd      = "test.add"
	fnFail     = "test.fail"
	fnPanic    = "test.panic"
	fnWait     = "test.wait-for-ctx"
	fnLate     = "test.return-late"
	fnKind     = "test.invalid-kind"
	fnBadValue = "test.unencodable"
)

type addArgs struct{ A, B int }

var errTestFailure = errors.New("deliberate failure")

func init() {
	worker.Register(fnAdd, func(_ context.Context, in addArgs) (int, error) { return in.A + in.B, nil })
	worker.Register(fnFail, func(context.Context, struct{}) (any, error) { return nil, errTestFailure })
	worker.Register(fnPanic, func(context.Context, struct{}) (any, error) { panicHere(); return nil, nil })
	worker.Register(fnWait, func(ctx context.Context, _ struct{}) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	// Returns success, but only after its timeout: still a timeout.
	worker.Register(fnLate, func(ctx context.Context, _ struct{}) (string, error) {
		<-ctx.Done()
		return "too late", nil
	})
	worker.Register(fnKind, func(context.Context, struct{}) (any, error) {
		return nil, funcx.Errorf(funcx.InvalidTask, "n must be positive")
	})
	worker.Register(fnBadValue, func(context.Context, struct{}) (any, error) { return func() {}, nil })
}

func panicHere() { panic("boom in the test function") }

// newTask builds a task of fn with JSON args, received now.
func newTask(fn funcx.Function, args string) funcx.Task {
	t := funcx.Task{ID: funcx.NewTaskID(), Function: fn, Received: time.Now(), Attempt: 1}
	if args != "" {
		t.Args = []byte(args)
	}
	return t
}

// serve starts an in-process worker with cfg.
func serve(t *testing.T, cfg worker.Config) *workertest.Conn {
	t.Helper()
	c, _, _ := workertest.Serve(t, cfg)
	return c
}

// runOne runs one task on a fresh in-process worker and checks the fields
// every result must carry.
func runOne(t *testing.T, task funcx.Task) funcx.Result {
	t.Helper()
	c := serve(t, worker.Config{WorkerID: 3})
	rs, err := c.Run(task)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("got %d results for one task", len(rs))
	}
	r := rs[0]
	checkEnvelope(t, &task, &r, 3)
	return r
}

func checkEnvelope(t *testing.T, task *funcx.Task, r *funcx.Result, workerID int) {
	t.Helper()
	if r.TaskID != task.ID || r.Attempt != task.Attempt || r.Worker != workerID {
		t.Errorf("result envelope: id %v attempt %d worker %d; want %v %d %d",
			r.TaskID, r.Attempt, r.Worker, task.ID, task.Attempt, workerID)
	}
	if !r.Times.Received.Equal(task.Received) {
		t.Errorf("Times.Received %v, want %v", r.Times.Received, task.Received)
	}
	if r.Times.Started.IsZero() || r.Times.Finished.Before(r.Times.Started) {
		t.Errorf("Times: started %v finished %v", r.Times.Started, r.Times.Finished)
	}
	if (r.State == funcx.StateFailed) != (r.Error != nil) || !r.State.Terminal() {
		t.Errorf("state %v with error %v", r.State, r.Error)
	}
}

// wantError checks a failed result's kind and that its message has each
// of the fragments.
func wantError(t *testing.T, r funcx.Result, kind funcx.ErrorKind, fragments ...string) {
	t.Helper()
	if r.Error == nil {
		t.Fatalf("result succeeded (output %q, stdout %q); want %v", r.Output, r.Stdout, kind)
	}
	if r.Error.Kind != kind || r.State != funcx.StateFailed {
		t.Fatalf("error %v (state %v), want kind %v", r.Error, r.State, kind)
	}
	for _, f := range fragments {
		if !strings.Contains(r.Error.Message, f) {
			t.Errorf("error message %q lacks %q", r.Error.Message, f)
		}
	}
}

func wantSuccess(t *testing.T, r funcx.Result) {
	t.Helper()
	if r.Error != nil || r.State != funcx.StateSuccess {
		t.Fatalf("state %v error %v (stderr %q)", r.State, r.Error, r.Stderr)
	}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// waitGone waits until pid no longer runs (gone or a zombie left for a
// reaper), failing the test past a few seconds.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// childTask is a shell task whose script starts a background "sleep 30",
// writes its PID to a file (atomically, by rename) and then runs rest.
// It returns the task and the file for readPID.
func childTask(t *testing.T, rest string) (funcx.Task, string) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	args, err := json.Marshal(map[string]string{"f": pidFile})
	if err != nil {
		t.Fatal(err)
	}
	return newTask(funcx.Shell(`sleep 30 & echo $! > {f}.tmp && mv {f}.tmp {f}; `+rest), string(args)), pidFile
}

// readPID waits for a file holding a PID and returns it.
func readPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
