// Command funcx is the command-line client of funcx-go: log in, register
// functions, run and submit tasks, fetch their results and look at
// endpoints. Run `funcx --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/funcx-go/funcx/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels the command; the second kills as usual.
	context.AfterFunc(ctx, stop)
	os.Exit(runApp(ctx, os.Args[1:], cli.OS()))
}
