package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/funcx-go/funcx"
)

// RawFunc is a Go function a worker can call by name: it receives the
// task's JSON arguments and returns its JSON result.
//
// A returned error fails the task with funcx.RemoteError and the error's
// message, unless it is (or wraps) a *funcx.TaskError, whose Kind is kept:
// return funcx.Errorf(funcx.InvalidTask, ...) for arguments the function
// refuses. The function should return promptly once ctx is done: ctx ends
// at the function's timeout, at shutdown, and when the manager goes away.
type RawFunc func(ctx context.Context, args json.RawMessage) (json.RawMessage, error)

// Registry maps names to Go functions. The zero value is an empty registry
// ready to use; the built-in functions are always found, in every registry.
// Lookups take no lock (the map is replaced whole on each Register), so
// registering is cheap to read and safe at any time, though it belongs at
// start-up: init or the top of main, before Main or Serve.
type Registry struct {
	mu  sync.Mutex                         // serialises writers
	fns atomic.Pointer[map[string]RawFunc] // copied on write
}

// DefaultRegistry is the registry that Register fills and that Serve and
// Main use unless Config.Registry says otherwise.
var DefaultRegistry = &Registry{}

// Register adds fn under name. Like http.HandleFunc it panics on a
// programming error: an empty name, a nil fn, a name already registered
// or a built-in's name.
func (r *Registry) Register(name string, fn RawFunc) {
	switch {
	case name == "":
		panic("worker: Register with an empty function name")
	case fn == nil:
		panic(fmt.Sprintf("worker: Register of function %q with a nil func", name))
	case builtin(name) != nil:
		panic(fmt.Sprintf("worker: function name %q is taken by a built-in", name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.fns.Load()
	if old != nil {
		if _, dup := (*old)[name]; dup {
			panic(fmt.Sprintf("worker: Register called twice for function %q", name))
		}
	}
	m := make(map[string]RawFunc, 1+lenOf(old))
	if old != nil {
		maps.Copy(m, *old)
	}
	m[name] = fn
	r.fns.Store(&m)
}

func lenOf(m *map[string]RawFunc) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// Lookup returns the function registered under name, built-ins included.
func (r *Registry) Lookup(name string) (RawFunc, bool) {
	if b := builtin(name); b != nil {
		return b.fn, true
	}
	if m := r.fns.Load(); m != nil {
		fn, ok := (*m)[name]
		return fn, ok
	}
	return nil, false
}

// Names returns the registered names, built-ins excluded, sorted.
func (r *Registry) Names() []string {
	m := r.fns.Load()
	if m == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(*m))
}

// Typed adapts a function of Go values to a RawFunc: the task's JSON
// arguments are decoded into In (empty arguments decode as null, so In's
// zero value), and the returned Out is encoded as the JSON result.
// Arguments that do not decode fail the task with funcx.InvalidTask.
func Typed[In, Out any](fn func(context.Context, In) (Out, error)) RawFunc {
	return func(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
		var in In
		if len(args) > 0 {
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, funcx.Errorf(funcx.InvalidTask, "decode arguments into %T: %v", in, err)
			}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("encode result of type %T: %w", out, err)
		}
		return b, nil
	}
}

// Register adds a typed Go function to DefaultRegistry under name; see
// Typed for how arguments and results are converted and Registry.Register
// for when it panics. Call it before Main, typically from init or at the
// top of main:
//
//	worker.Register("wordcount", func(ctx context.Context, text string) (int, error) {
//		return len(strings.Fields(text)), nil
//	})
//
// For another registry use r.Register(name, worker.Typed(fn)).
func Register[In, Out any](name string, fn func(context.Context, In) (Out, error)) {
	if fn == nil {
		DefaultRegistry.Register(name, nil) // panics with the name
	}
	DefaultRegistry.Register(name, Typed(fn))
}
