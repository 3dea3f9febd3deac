package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker"
)

func TestGoFunctions(t *testing.T) {
	t.Parallel()

	t.Run("typed", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.GoFunc(fnAdd), `{"A": 2, "B": 40}`))
		wantSuccess(t, r)
		if got := decode[int](t, r.Output); got != 42 {
			t.Errorf("output %d", got)
		}
	})

	t.Run("error", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.GoFunc(fnFail), ""))
		wantError(t, r, funcx.RemoteError, errTestFailure.Error())
		if r.Error.Message != errTestFailure.Error() {
			t.Errorf("message %q, want the error's own", r.Error.Message)
		}
	})

	t.Run("task error keeps its kind", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.GoFunc(fnKind), ""))
		wantError(t, r, funcx.InvalidTask, fnKind, "n must be positive")
	})

	t.Run("panic with stack", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.GoFunc(fnPanic), ""))
		wantError(t, r, funcx.RemoteError, "panicked", "boom in the test function")
		if !strings.Contains(r.Error.Stack, "panicHere") {
			t.Errorf("stack lacks the panicking function:\n%s", r.Error.Stack)
		}
	})

	t.Run("unknown function", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.GoFunc("no.such.function"), ""))
		wantError(t, r, funcx.FunctionNotFound, `"no.such.function"`, "worker.Register")
		if strings.Contains(r.Error.Message, fnAdd) {
			t.Errorf("message lists registered functions: %q", r.Error.Message)
		}
	})

	t.Run("bad JSON arguments", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.GoFunc(fnAdd), `{"A": "two"}`))
		wantError(t, r, funcx.InvalidTask, fnAdd, "decode arguments into worker_test.addArgs")
	})

	t.Run("unencodable result", func(t *testing.T) {
		t.Parallel()
		r := runOne(t, newTask(funcx.GoFunc(fnBadValue), ""))
		wantError(t, r, funcx.RemoteError, "encode result")
	})

	t.Run("timeout honoured through ctx", func(t *testing.T) {
		t.Parallel()
		fn := funcx.GoFunc(fnWait)
		fn.Timeout = 50 * time.Millisecond
		r := runOne(t, newTask(fn, ""))
		wantError(t, r, funcx.TaskTimeout, fnWait, "timed out after 50ms")
	})

	t.Run("success after the deadline is a timeout", func(t *testing.T) {
		t.Parallel()
		fn := funcx.GoFunc(fnLate)
		fn.Timeout = 20 * time.Millisecond
		r := runOne(t, newTask(fn, ""))
		wantError(t, r, funcx.TaskTimeout)
		if r.Output != nil {
			t.Errorf("output %q kept", r.Output)
		}
	})

	t.Run("explicit registry", func(t *testing.T) {
		t.Parallel()
		var reg worker.Registry
		reg.Register("upper", worker.Typed(func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil }))
		c := serve(t, worker.Config{Registry: &reg})
		rs, err := c.Run(newTask(funcx.GoFunc("upper"), `"abc"`), newTask(funcx.GoFunc(fnAdd), `{}`), newTask(funcx.GoFunc(worker.NameNoop), ""))
		if err != nil {
			t.Fatal(err)
		}
		wantSuccess(t, rs[0])
		if got := decode[string](t, rs[0].Output); got != "ABC" {
			t.Errorf("output %q", got)
		}
		wantError(t, rs[1], funcx.FunctionNotFound) // only in DefaultRegistry
		wantSuccess(t, rs[2])                       // built-ins are everywhere
	})
}

func TestBuiltins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, fn, args string
		timeout        time.Duration
		want           string
		wantKind       funcx.ErrorKind
	}{
		{name: "noop", fn: worker.NameNoop, want: "null"},
		{name: "noop ignores args", fn: worker.NameNoop, args: `[1, 2]`, want: "null"},
		{name: "echo", fn: worker.NameEcho, args: `{"a": [1, "x"]}`, want: `{"a": [1, "x"]}`},
		{name: "echo nothing", fn: worker.NameEcho, want: "null"},
		{name: "sleep duration", fn: worker.NameSleep, args: `"5ms"`, want: "null"},
		{name: "sleep seconds", fn: worker.NameSleep, args: `0.005`, want: "null"},
		{name: "sleep bad", fn: worker.NameSleep, args: `"soon"`, wantKind: funcx.InvalidTask},
		{name: "sleep negative", fn: worker.NameSleep, args: `-1`, wantKind: funcx.InvalidTask},
		{name: "sleep honours ctx", fn: worker.NameSleep, args: `"1h"`, timeout: 20 * time.Millisecond, wantKind: funcx.TaskTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fn := funcx.GoFunc(tt.fn)
			fn.Timeout = tt.timeout
			r := runOne(t, newTask(fn, tt.args))
			if tt.wantKind != funcx.NoError {
				wantError(t, r, tt.wantKind)
				return
			}
			wantSuccess(t, r)
			if string(r.Output) != tt.want {
				t.Errorf("output %q, want %q", r.Output, tt.want)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	raw := func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, nil }

	t.Run("panics on misuse", func(t *testing.T) {
		t.Parallel()
		var reg worker.Registry
		reg.Register("once", raw)
		for name, tc := range map[string]struct {
			name string
			fn   worker.RawFunc
			want string
		}{
			"duplicate":  {"once", raw, `Register called twice for function "once"`},
			"built-in":   {worker.NameEcho, raw, "taken by a built-in"},
			"empty name": {"", raw, "empty function name"},
			"nil func":   {"nil", nil, "nil func"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				defer func() {
					v := recover()
					if s, _ := v.(string); !strings.Contains(s, tc.want) {
						t.Errorf("panic %v, want %q", v, tc.want)
					}
				}()
				reg.Register(tc.name, tc.fn)
			})
		}
	})

	t.Run("lookup and names", func(t *testing.T) {
		t.Parallel()
		var reg worker.Registry
		if names := reg.Names(); names != nil {
			t.Errorf("zero registry names %v", names)
		}
		reg.Register("b", raw)
		reg.Register("a", raw)
		if got := strings.Join(reg.Names(), ","); got != "a,b" {
			t.Errorf("names %q", got)
		}
		for _, name := range []string{"a", worker.NameNoop, worker.NameEcho, worker.NameSleep} {
			if _, ok := reg.Lookup(name); !ok {
				t.Errorf("Lookup(%q) not found", name)
			}
		}
		if _, ok := reg.Lookup("c"); ok {
			t.Error("Lookup(c) found")
		}
	})

	t.Run("typed empty args decode as zero", func(t *testing.T) {
		t.Parallel()
		fn := worker.Typed(func(_ context.Context, in addArgs) (addArgs, error) { return in, nil })
		out, err := fn(context.Background(), nil)
		if err != nil || string(out) != `{"A":0,"B":0}` {
			t.Errorf("got %s, %v", out, err)
		}
		_, err = fn(context.Background(), json.RawMessage(`[`))
		var te *funcx.TaskError
		if !errors.As(err, &te) || te.Kind != funcx.InvalidTask {
			t.Errorf("bad args: %v, want an InvalidTask TaskError", err)
		}
	})
}
