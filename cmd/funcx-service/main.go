// Command funcx-service runs the funcX web service and administers its
// client identities. Run `funcx-service --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal shuts down gracefully; a second kills as usual.
	context.AfterFunc(ctx, stop)
	os.Exit(runApp(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
