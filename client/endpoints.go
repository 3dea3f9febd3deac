package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/funcx-go/funcx/service/api"
)

// RegisterEndpoint registers a new endpoint, or re-registers req.EndpointID
// (only its owner may), and returns its ID and broker credentials.
func (c *Client) RegisterEndpoint(ctx context.Context, req api.RegisterEndpointRequest) (*api.RegisterEndpointResponse, error) {
	var resp api.RegisterEndpointResponse
	// Re-registering an ID is idempotent; registering a new one is not.
	k := call{method: http.MethodPost, path: api.PathEndpoints, in: req, out: &resp, idempotent: req.EndpointID != ""}
	if err := c.do(ctx, k); err != nil {
		return nil, fmt.Errorf("register endpoint %q: %w", req.Name, err)
	}
	return &resp, nil
}

// ListEndpoints returns the caller's endpoints.
func (c *Client) ListEndpoints(ctx context.Context) ([]api.EndpointStatus, error) {
	var list api.EndpointList
	if err := c.do(ctx, call{method: http.MethodGet, path: api.PathEndpoints, out: &list, idempotent: true}); err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return list.Endpoints, nil
}

// EndpointStatus returns one endpoint's status.
func (c *Client) EndpointStatus(ctx context.Context, endpointID string) (*api.EndpointStatus, error) {
	var st api.EndpointStatus
	if err := c.do(ctx, call{method: http.MethodGet, path: api.PathEndpoint + url.PathEscape(endpointID), out: &st, idempotent: true}); err != nil {
		return nil, fmt.Errorf("get the status of endpoint %s: %w", endpointID, err)
	}
	return &st, nil
}

// DeleteEndpoint deletes an endpoint of the caller's.
func (c *Client) DeleteEndpoint(ctx context.Context, endpointID string) error {
	if err := c.do(ctx, call{method: http.MethodDelete, path: api.PathEndpoint + url.PathEscape(endpointID), idempotent: true}); err != nil {
		return fmt.Errorf("delete endpoint %s: %w", endpointID, err)
	}
	return nil
}
