// Package client is the Go SDK of funcx-go: it registers functions,
// submits tasks in batches and returns their results as futures.
//
// # Connecting
//
// A Client needs the service URL and a credential: a client identity's ID
// and secret (exchanged for a bearer token, renewed before it expires) or
// a bearer token. The CLIs keep them in $FUNCX_HOME/credentials.json; see
// Credentials and ResolveCredentials.
//
//	c, err := client.New(client.Config{ServiceURL: url, ClientID: id, ClientSecret: secret})
//	if err != nil { ... }
//	defer c.Close()
//
// # Typed calls
//
// Each route of service/api has a method: Whoami, RegisterFunction,
// GetFunction, RegisterEndpoint, ListEndpoints, EndpointStatus,
// DeleteEndpoint, Submit, TaskStatus, Results. An error response is an
// *APIError; errors.Is matches it against ErrUnauthorized, ErrForbidden,
// ErrNotFound and the other status sentinels.
//
// # Executors and futures
//
// An Executor submits to one endpoint. Submit returns a *Future at once;
// submissions from all goroutines are grouped into a few batched requests
// and one long poll of the results resolves every future of the client:
//
//	ex := c.Executor(endpointID)
//	f := ex.Submit(functionID, map[string]any{"n": 3})
//	res, err := f.Result(ctx)
//	if errors.Is(err, funcx.ErrWorkerLost) { ... }   // the task failed
//	var out int
//	err = res.Output(&out)                           // a Go function's return value
//
// Task IDs are chosen by the client, so a submission retried after a
// network error cannot run a task twice; submissions, reads and the
// results long poll retry for Config.RetryFor (a minute), so a restart of
// the service delays them instead of failing them. A future is known to the
// results watcher before its task is posted, so no result can overtake
// it. The watcher starts at the newest result that existed when the client
// first submitted; results of tasks it did not submit are ignored.
//
// Client.Close ends every goroutine; futures still waiting then fail with
// ErrClosed.
package client
