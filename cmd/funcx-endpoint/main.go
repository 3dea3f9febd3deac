// Command funcx-endpoint manages funcX endpoints on this machine: it
// configures profiles in $FUNCX_HOME (default ~/.funcx), starts each as a
// background daemon that serves tasks from the service, and lists, stops,
// restarts and deletes them. Run `funcx-endpoint --help` for the commands
// and docs/endpoint.md for the guide. The daemon's logic is the library's
// (package endpoint/daemon): this command parses flags, loads profiles
// and prints.
//
// The same static binary also serves as the endpoint's manager and
// worker processes on the nodes its blocks run on: the engine starts it
// with FUNCX_ROLE set, and endpoint.ServeChildRole takes over then.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/funcx-go/funcx/endpoint"
	// Every provider and container runtime a profile may name.
	_ "github.com/funcx-go/funcx/endpoint/backends"
	"github.com/funcx-go/funcx/internal/cli"
)

func main() {
	endpoint.ServeChildRole()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal stops gracefully; a second kills as usual.
	context.AfterFunc(ctx, stop)
	os.Exit(runApp(ctx, os.Args[1:], cli.OS()))
}
