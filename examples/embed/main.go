// Command embed is funcx used as a library from a module of its own, as
// a user's program would: it starts the service (service.New with the
// SQLite store and the in-process broker), an endpoint through
// endpoint.Run with a provider and a router of its own (provider.go,
// router.go), submits Go and shell functions through the SDK (client)
// and checks every result.
//
//	cd examples/embed && go run .
//
// Its go.mod replaces github.com/funcx-go/funcx with the checkout it
// sits in; a program of your own requires a released version instead.
// It links only what it imports: the endpoint package brings the local
// provider and no other backend (no Kubernetes or Docker client), and
// this program adds none, since its provider is its own. A profile that
// names another provider type or container runtime is refused with the
// import it needs (main_test.go shows it).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
	"github.com/funcx-go/funcx/worker"
)

func init() {
	// Registered in every process of this program: the endpoint's
	// workers are this program, re-executed.
	worker.Register("square", func(_ context.Context, n int) (int, error) { return n * n, nil })
}

func main() {
	endpoint.ServeChildRole() // serve as a manager or worker when started as one

	tasks := flag.Int("tasks", 200, "how many Go tasks to submit")
	verbose := flag.Bool("v", false, "log what the service and endpoint do (to stderr)")
	flag.Parse()
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *tasks, log); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int, log *slog.Logger) (err error) {
	dir, err := os.MkdirTemp("", "funcx-embed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var stops []func() error // run in reverse order when run returns
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			err = errors.Join(err, stops[i]())
		}
	}()

	// The service: SQLite store, in-process broker, HTTP on loopback.
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(dir, "service.db")})
	if err != nil {
		return err
	}
	stops = append(stops, st.Close)
	brk, err := membroker.New(membroker.Config{Logger: log})
	if err != nil {
		return err
	}
	stops = append(stops, brk.Close)
	svc, err := service.New(service.Config{Store: st, Broker: brk, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	serveCtx, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- svc.Serve(serveCtx, ln) }()
	stops = append(stops, func() error { stopServing(); return <-served })

	// A user, and the SDK logged in as that user over HTTP.
	clientID, secret, err := svc.AddIdentity(ctx, "embed")
	if err != nil {
		return err
	}
	cl, err := client.New(client.Config{ServiceURL: "http://" + ln.Addr().String(), ClientID: clientID, ClientSecret: secret})
	if err != nil {
		return err
	}
	stops = append(stops, cl.Close)

	// The endpoint, with this program's provider and router.
	reg, err := cl.RegisterEndpoint(ctx, api.RegisterEndpointRequest{Name: "embed"})
	if err != nil {
		return err
	}
	prov, router := newProcs(), &packRouter{}
	creds := broker.Credentials(reg.Broker)
	runCtx, stopEndpoint := context.WithCancel(context.WithoutCancel(ctx))
	ready, ran := make(chan struct{}), make(chan error, 1)
	go func() {
		ran <- endpoint.Run(runCtx, endpoint.RunConfig{
			Config: endpoint.Config{
				MaxWorkersPerNode: 2,
				Router:            router,
				Provider:          endpoint.ProviderConfig{Type: "procs", Implementation: prov, InitBlocks: 2, MaxBlocks: 2},
				LogDir:            filepath.Join(dir, "endpoint"),
				Logger:            log,
			},
			EndpointID:  reg.EndpointID,
			JournalPath: filepath.Join(dir, "journal.db"),
			StopGrace:   10 * time.Second,
			Dial:        func(ctx context.Context) (broker.EndpointConn, error) { return brk.DialEndpoint(ctx, creds) },
			Ready:       func() { close(ready) },
		})
	}()
	stops = append(stops, func() error { stopEndpoint(); return <-ran })
	select {
	case <-ready:
	case err := <-ran:
		ran <- err // for the stop
		return fmt.Errorf("endpoint: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}

	if err := submitAndCheck(ctx, cl, reg.EndpointID, n); err != nil {
		return err
	}
	fmt.Printf("%d Go tasks and 1 shell task ran, every result checked; %d blocks from the program's provider, %d tasks through its router\n",
		n, prov.started.Load(), router.routed.Load())
	if prov.started.Load() == 0 || router.routed.Load() < int64(n)+1 {
		return errors.New("the endpoint did not use the program's provider and router")
	}
	return nil
}

// submitAndCheck runs n squares and one shell function through the SDK
// and checks each result.
func submitAndCheck(ctx context.Context, cl *client.Client, endpointID string, n int) error {
	square, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "square", Kind: "go", GoName: "square"})
	if err != nil {
		return err
	}
	shell, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "greet", Kind: "shell", Script: "echo hello {name}"})
	if err != nil {
		return err
	}
	ex := cl.Executor(endpointID)
	defer ex.Close()
	inputs := make([]any, n)
	for i := range inputs {
		inputs[i] = i
	}
	futures, err := ex.Map(ctx, square, inputs)
	if err != nil {
		return err
	}
	greeting := ex.Submit(shell, map[string]string{"name": "embed"})
	for i, f := range futures {
		r, err := f.Result(ctx)
		if err != nil {
			return fmt.Errorf("square(%d): %w", i, err)
		}
		if want := fmt.Sprint(i * i); string(r.TaskResult.Output) != want {
			return fmt.Errorf("square(%d) = %s, want %s", i, r.TaskResult.Output, want)
		}
	}
	r, err := greeting.Result(ctx)
	if err != nil {
		return fmt.Errorf("shell: %w", err)
	}
	if got := string(r.TaskResult.Stdout); got != "hello embed\n" {
		return fmt.Errorf("shell printed %q, want %q", got, "hello embed\n")
	}
	return nil
}
