package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/funcx-go/funcx/service/api"
)

// Whoami returns the identity the client's credentials belong to. It is
// the cheapest way to check that credentials work.
func (c *Client) Whoami(ctx context.Context) (*api.Identity, error) {
	var id api.Identity
	if err := c.do(ctx, call{method: http.MethodGet, path: api.PathWhoami, out: &id, idempotent: true}); err != nil {
		return nil, fmt.Errorf("ask who the client is: %w", err)
	}
	return &id, nil
}
