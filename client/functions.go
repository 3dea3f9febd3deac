package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/funcx-go/funcx/service/api"
)

// RegisterFunction registers a function and returns its ID. It is not
// retried after a network error, since a retry could register it twice.
func (c *Client) RegisterFunction(ctx context.Context, req api.RegisterFunctionRequest) (string, error) {
	var resp api.RegisterFunctionResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: api.PathFunctions, in: req, out: &resp}); err != nil {
		return "", fmt.Errorf("register function %q: %w", req.Name, err)
	}
	return resp.FunctionID, nil
}

// GetFunction returns a registered function.
func (c *Client) GetFunction(ctx context.Context, functionID string) (*api.Function, error) {
	var fn api.Function
	if err := c.do(ctx, call{method: http.MethodGet, path: api.PathFunction + url.PathEscape(functionID), out: &fn, idempotent: true}); err != nil {
		return nil, fmt.Errorf("get function %s: %w", functionID, err)
	}
	return &fn, nil
}
