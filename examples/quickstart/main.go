// Command quickstart runs the whole funcx fabric in one program on embedded
// defaults: an interchange, one local block whose manager starts a worker
// process per core, and a few shell and Go functions sent through them.
//
//	go run ./examples/quickstart
//
// It needs no service, broker or configuration. It shows the pattern every
// program that embeds an endpoint engine follows: register Go functions in
// init, call endpoint.ServeChildRole first thing in main (the engine
// re-executes this binary as its manager and workers), then start an
// Engine, submit tasks and read results.
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

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/worker"
)

// Greeting is the argument of the "greet" Go function.
type Greeting struct {
	Name string `json:"name"`
}

func init() {
	// Registered in every process of this program, so the workers that
	// the engine starts by re-executing it have the function too.
	worker.Register("greet", func(_ context.Context, g Greeting) (string, error) {
		if g.Name == "" {
			return "", fmt.Errorf("greet: name is empty")
		}
		host, _ := os.Hostname()
		return fmt.Sprintf("hello %s, from Go worker pid %d on %s", g.Name, os.Getpid(), host), nil
	})
}

func main() {
	endpoint.ServeChildRole()

	noops := flag.Int("noops", 10000, "how many no-op Go tasks to push through for a throughput figure")
	verbose := flag.Bool("v", false, "log what the engine does (to stderr)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *noops, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, noops int, verbose bool) error {
	cfg := endpoint.Config{PrefetchCapacity: 64}
	if verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	eng, err := endpoint.NewEngine(cfg)
	if err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := eng.Stop(sctx); err != nil {
			fmt.Fprintln(os.Stderr, "quickstart: stop:", err)
		}
	}()
	fmt.Printf("engine up: interchange at %s, one local block\n\n", eng.InterchangeAddr())

	demo := []struct {
		label string
		task  funcx.Task
	}{
		{"shell, argv", task(funcx.Command("uname", "-s"), nil)},
		{"shell, script with arguments", task(funcx.Shell("echo '{greeting}, {name}!' | tr a-z A-Z"), `{"greeting":"hello","name":"funcx"}`)},
		{"shell, non-zero exit", task(funcx.Shell("echo about to fail >&2; exit 3"), nil)},
		{"go, registered function", task(funcx.GoFunc("greet"), `{"name":"quickstart"}`)},
		{"go, function error", task(funcx.GoFunc("greet"), `{}`)},
		{"go, built-in echo", task(funcx.GoFunc(worker.NameEcho), `{"any":["json",1,true]}`)},
		{"go, not registered", task(funcx.GoFunc("no-such-function"), nil)},
	}
	labels := map[funcx.TaskID]string{}
	var tasks []funcx.Task
	for _, d := range demo {
		labels[d.task.ID] = d.label
		tasks = append(tasks, d.task)
	}
	if err := eng.Submit(tasks...); err != nil {
		return err
	}
	results, err := await(ctx, eng, len(tasks), nil)
	if err != nil {
		return err
	}
	for _, d := range demo {
		printResult(d.label, results[d.task.ID])
	}

	if noops > 0 {
		fmt.Printf("\n%d no-op Go tasks through the same workers...\n", noops)
		batch := make([]funcx.Task, noops)
		for i := range batch {
			batch[i] = task(funcx.GoFunc(worker.NameNoop), nil)
		}
		start := time.Now()
		if err := eng.Submit(batch...); err != nil {
			return err
		}
		got, err := await(ctx, eng, noops, func(done int) {
			fmt.Fprintf(os.Stderr, "\r  %d/%d done", done, noops)
		})
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		elapsed := time.Since(start)
		failed := 0
		for _, r := range got {
			if r.State != funcx.StateSuccess {
				failed++
			}
		}
		st := eng.Status().Interchange
		fmt.Printf("%d tasks, %d failed, in %s: %.0f tasks/s on %d managers, %d workers\n",
			noops, failed, elapsed.Round(time.Millisecond), float64(noops)/elapsed.Seconds(), len(st.Managers), workers(st.Managers))
	}
	return nil
}

func task(f funcx.Function, args any) funcx.Task {
	t := funcx.Task{ID: funcx.NewTaskID(), Function: f}
	if s, ok := args.(string); ok {
		t.Args = []byte(s)
	}
	return t
}

// await collects n results, reporting progress every 100ms if asked.
func await(ctx context.Context, eng *endpoint.Engine, n int, progress func(done int)) (map[funcx.TaskID]funcx.Result, error) {
	got := make(map[funcx.TaskID]funcx.Result, n)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(got) < n {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-tick.C:
			if progress != nil {
				progress(len(got))
			}
		case batch, ok := <-eng.Results():
			if !ok {
				return got, fmt.Errorf("engine stopped with %d of %d results", len(got), n)
			}
			for _, r := range batch {
				got[r.TaskID] = r
			}
		}
	}
	if progress != nil {
		progress(len(got))
	}
	return got, nil
}

func printResult(label string, r funcx.Result) {
	fmt.Printf("%-30s ", label+":")
	switch {
	case r.Error != nil:
		fmt.Printf("failed: %s\n", r.Error)
	case r.Output != nil:
		fmt.Printf("output %s\n", r.Output)
	default:
		fmt.Printf("exit %d, stdout %q", r.ExitCode, strings.TrimSpace(string(r.Stdout)))
		if len(r.Stderr) > 0 {
			fmt.Printf(", stderr %q", strings.TrimSpace(string(r.Stderr)))
		}
		fmt.Println()
	}
	took := r.Times.Finished.Sub(r.Times.Started)
	fmt.Printf("%-30s ran on %s worker %d in %s\n", "", r.Manager, r.Worker, took.Round(time.Microsecond))
}

func workers(ms []interchange.ManagerStats) int {
	n := 0
	for _, m := range ms {
		n += m.Workers
	}
	return n
}
