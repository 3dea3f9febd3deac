package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/funcx-go/funcx"
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

// FunctionRequest is the registration of fn under name, for
// RegisterFunction: a function of any kind, such as
// funcx.Python(source, entry) or funcx.Shell(script). Set ContainerImage
// on the request to run the function in a container.
//
//	fid, err := c.RegisterFunction(ctx, client.FunctionRequest("integrate", funcx.Python(source, "integrate")))
//	f := ex.Submit(fid, funcx.PythonArgs{Args: []any{"sin", 1000}})
func FunctionRequest(name string, fn funcx.Function) api.RegisterFunctionRequest {
	req := api.RegisterFunctionRequest{Name: name, Kind: fn.Kind.String(), Env: fn.Env, Dir: fn.Dir, OutputLimit: fn.OutputLimit}
	switch fn.Kind {
	case funcx.KindPython:
		req.Source, req.Entry = fn.Script, fn.Name
	case funcx.KindGo:
		req.GoName = fn.Name
	default:
		req.Argv, req.Script = fn.Argv, fn.Script
	}
	if fn.Timeout > 0 {
		req.Timeout = fn.Timeout.String()
	}
	return req
}
