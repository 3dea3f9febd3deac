package main

import (
	"context"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
)

// The program's provider behaves as every provider must: the module's
// conformance suite, which its own providers run too.
func TestProcsConformance(t *testing.T) {
	t.Parallel()
	providertest.RunConformance(t, func(t *testing.T) provider.Provider {
		p := newProcs()
		p.grace = time.Second
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := p.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
		return p
	}, providertest.Options{StderrInMessage: true, Timeout: 20 * time.Second})
}
