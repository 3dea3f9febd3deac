// Command quickstart runs the whole funcx fabric in one program: the
// service's HTTP API (on a loopback port, with its SQLite store in a
// temporary directory), the in-process broker, an endpoint (endpoint.Run:
// journal, interchange, one local block with a manager and worker
// processes) and the Go SDK, which registers shell and Go functions,
// submits tasks over HTTP and prints their results.
//
//	go run ./examples/quickstart
//
// It needs no running service, broker or configuration, and removes its
// temporary files when it ends. With RabbitMQ and funcx-service the same
// SDK calls reach remote endpoints: only the service URL and credentials
// change.
//
// A program that runs an endpoint registers its Go functions in init and
// calls endpoint.ServeChildRole first thing in main: the engine
// re-executes the program as its manager and workers.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// Greeting is the argument of the "greet" Go function.
type Greeting struct {
	Name string `json:"name"`
}

func init() {
	// Registered in every process of this program, so the workers that
	// the endpoint starts by re-executing it have the function too.
	worker.Register("greet", func(_ context.Context, g Greeting) (string, error) {
		if g.Name == "" {
			return "", fmt.Errorf("greet: name is empty")
		}
		return fmt.Sprintf("hello %s, from Go worker pid %d", g.Name, os.Getpid()), nil
	})
}

func main() {
	endpoint.ServeChildRole()

	noops := flag.Int("noops", 2000, "how many no-op Go tasks to send for a throughput figure (0: none)")
	verbose := flag.Bool("v", false, "log what the service and endpoint do (to stderr)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *noops, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, noops int, verbose bool) (err error) {
	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dir, err := os.MkdirTemp("", "funcx-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	f, err := startFabric(ctx, dir, log)
	if err != nil {
		return err
	}
	defer func() {
		if serr := f.stop(); serr != nil && err == nil {
			err = fmt.Errorf("stop: %w", serr)
		}
	}()
	fmt.Printf("service at %s, endpoint %s up\n\n", f.url, f.endpointID)

	if err := demo(ctx, f); err != nil {
		return err
	}
	if noops > 0 {
		return throughput(ctx, f, noops)
	}
	return nil
}

// demo registers a few functions, runs one task of each and prints the
// results.
func demo(ctx context.Context, f *fabric) error {
	cases := []struct {
		label string
		fn    api.RegisterFunctionRequest
		args  any
	}{
		{"shell, argv", api.RegisterFunctionRequest{Kind: "shell", Argv: []string{"uname", "-s"}}, nil},
		{"shell, script with arguments", api.RegisterFunctionRequest{Kind: "shell", Script: "echo '{greeting}, {name}!' | tr a-z A-Z"},
			map[string]string{"greeting": "hello", "name": "funcx"}},
		{"shell, non-zero exit", api.RegisterFunctionRequest{Kind: "shell", Script: "echo about to fail >&2; exit 3"}, nil},
		{"go, registered function", api.RegisterFunctionRequest{Kind: "go", GoName: "greet"}, Greeting{Name: "quickstart"}},
		{"go, function error", api.RegisterFunctionRequest{Kind: "go", GoName: "greet"}, Greeting{}},
		{"go, built-in echo", api.RegisterFunctionRequest{Kind: "go", GoName: worker.NameEcho}, map[string]any{"any": []any{"json", 1, true}}},
		{"go, not registered", api.RegisterFunctionRequest{Kind: "go", GoName: "no-such-function"}, nil},
	}
	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	futures := make([]*client.Future, len(cases))
	for i, c := range cases {
		c.fn.Name = c.label
		id, err := f.cl.RegisterFunction(ctx, c.fn)
		if err != nil {
			return err
		}
		futures[i] = ex.Submit(id, c.args)
	}
	for i, c := range cases {
		r, err := futures[i].Result(ctx)
		if r == nil { // not a task failure: the fabric itself failed
			return fmt.Errorf("%s: %w", c.label, err)
		}
		printResult(c.label, r)
	}
	return nil
}

func printResult(label string, r *client.Result) {
	fmt.Printf("%-30s ", label+":")
	tr := r.TaskResult
	switch {
	case r.Err() != nil:
		fmt.Printf("failed: %s\n", r.Err())
	case len(tr.Output) > 0:
		fmt.Printf("output %s\n", tr.Output)
	default:
		fmt.Printf("exit %d, stdout %q", tr.ExitCode, strings.TrimSpace(string(tr.Stdout)))
		if len(tr.Stderr) > 0 {
			fmt.Printf(", stderr %q", strings.TrimSpace(string(tr.Stderr)))
		}
		fmt.Println()
	}
}

// throughput sends n no-op Go tasks through the whole fabric and prints
// the rate.
func throughput(ctx context.Context, f *fabric, n int) error {
	id, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "noop", Kind: "go", GoName: worker.NameNoop})
	if err != nil {
		return err
	}
	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	inputs := make([]any, n)
	start := time.Now()
	futures, err := ex.Map(ctx, id, inputs)
	if err != nil {
		return err
	}
	failed := 0
	for _, fu := range futures {
		r, err := fu.Result(ctx)
		if r == nil {
			return err
		}
		if err != nil {
			failed++
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("\n%d no-op Go tasks, %d failed, in %s: %.0f tasks/s (SDK -> HTTP -> service -> broker -> endpoint -> workers -> back)\n",
		n, failed, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	return nil
}
