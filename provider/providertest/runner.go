package providertest

import (
	"context"
	"slices"
	"sync"

	"github.com/funcx-go/funcx/provider"
)

// RunCall is one command a FakeRunner was asked to run.
type RunCall struct {
	Name  string
	Args  []string
	Stdin []byte
}

// FakeRunner is a provider.Runner that answers from Handler and records
// every call. It is safe for concurrent use; set Handler before use.
type FakeRunner struct {
	// Handler answers a command. Defaults to nil: every command succeeds
	// with no output.
	Handler func(ctx context.Context, call RunCall) (provider.RunResult, error)

	mu    sync.Mutex
	calls []RunCall
}

var _ provider.Runner = (*FakeRunner)(nil)

// Run records the call and returns Handler's answer.
func (r *FakeRunner) Run(ctx context.Context, name string, args []string, stdin []byte) (provider.RunResult, error) {
	call := RunCall{Name: name, Args: slices.Clone(args), Stdin: slices.Clone(stdin)}
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
	if r.Handler == nil {
		return provider.RunResult{}, nil
	}
	return r.Handler(ctx, call)
}

// Calls returns the calls so far, in order.
func (r *FakeRunner) Calls() []RunCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}
