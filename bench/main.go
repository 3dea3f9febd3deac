// Command bench measures the funcx-go fabric end to end and sets each
// figure beside a baseline measured in the same run, so that a noisy,
// shared machine moves both alike and the ratio stays meaningful:
//
//   - interchange dispatch to zero-work fake managers, beside raw framed
//     TCP echo with the same codec, frames and window;
//   - no-op Go tasks through an Engine (interchange, manager and worker
//     processes), beside the same worker processes driven directly, with
//     2 and 4 workers, and one-task-at-a-time latency;
//   - shell tasks running `true`, beside os/exec at the same parallelism;
//   - warm no-op Python tasks through an Engine, beside the same python3
//     driver driven directly over its pipes, in tasks/s and one at a time;
//   - no-op tasks end to end (SDK -> HTTP service -> RabbitMQ -> endpoint
//     -> workers -> back) and one-task latency, beside a raw RabbitMQ
//     round trip (rabbitmq.RunRoundTrip), and no-op Python tasks from
//     the Python SDK (python/, run with -python) beside the Go SDK's.
//     These rows need RabbitMQ (scripts/start-services.sh); without it
//     the run fails saying so;
//   - the service's peak RSS under 20 concurrent 31 MiB submissions, in a
//     child process, beside the same with its bound on body bytes in
//     flight raised out of the way;
//   - the store's size in a soak of 1M tasks with a short result TTL,
//     at the end beside once the first TTL had passed.
//
// Each pair is measured in alternating rounds and the median reported.
// Targets are marked met or not; a missed target is not an error, and
// the exit status is non-zero only when something broke.
//
//	go run ./bench            # the full run, well under two minutes on 2 cores
//	go run ./bench -quick     # small counts: a smoke test
//	go run ./bench -json      # the report as JSON on stdout
//	go run ./bench -only e2e  # only the end-to-end rows (or dispatch, engine, python)
//	go run ./bench -only hostile  # the service's peak RSS under 20 concurrent 31 MiB bodies (never run otherwise)
//	go run ./bench -only retention  # 1M tasks through the store with a short result TTL: the database stays flat (never run otherwise)
//	go run ./bench -only faults  # the fault matrix (internal/faults), only when named
//
// Progress goes to stderr, the table to stdout.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/endpoint"
	_ "github.com/funcx-go/funcx/endpoint/backends" // the container phases need docker
	"github.com/funcx-go/funcx/internal/faults"
)

func main() {
	// The engine starts managers and workers by re-executing this binary,
	// and the hostile phase its service.
	serveHostileChild()
	endpoint.ServeChildRole()

	o, err := parseOptions(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, errUsage): // the flag package has said what
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if o.CPUProfile != "" {
		stopProfile, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		defer stopProfile()
	}
	// Ctrl-C cancels the run; the deferred stops still end every engine.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, runErr := run(ctx, o, os.Stderr)
	stop()
	if len(rep.Rows) > 0 || len(rep.Faults) > 0 || runErr == nil {
		write := writeTable
		if o.JSON {
			write = writeJSON
		}
		if err := write(os.Stdout, rep); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "bench:", runErr)
		os.Exit(1)
	}
}

// startCPUProfile profiles this process (the interchange, and for the
// end-to-end rows also the service, the endpoint's link and the SDK; not
// the manager and worker processes) into path.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// options are the harness's settings.
type options struct {
	DispatchTasks int `json:"dispatch_tasks"`
	Managers      int `json:"managers"`
	Tasks         int `json:"tasks"`
	Pings         int `json:"pings"`
	ShellTasks    int `json:"shell_tasks"`
	Workers       int `json:"workers"`
	Rounds        int `json:"rounds"`
	E2ETasks      int `json:"e2e_tasks"`
	RawBatch      int `json:"raw_batch"`
	// RetentionTasks is the tasks of the retention soak.
	RetentionTasks int `json:"retention_tasks"`
	// Prefetch is the prefetch_capacity of every endpoint and engine the
	// harness starts.
	Prefetch   int  `json:"prefetch"`
	Quick      bool `json:"quick"`
	Containers bool `json:"containers"`
	JSON       bool `json:"-"`
	// AMQPURL is the RabbitMQ the end-to-end rows use (as guest: it
	// creates the endpoint's user through the management API on the
	// same host).
	AMQPURL string `json:"-"`
	// Only, if set, is the comma-separated phases to run: dispatch,
	// engine, python, containers, e2e, hostile, retention, faults.
	Only string `json:"only,omitempty"`
	// CPUProfile, if set, is where this process's CPU profile goes.
	CPUProfile string `json:"-"`
	// FaultTasks, Faults, FaultStrike, FaultStall and FaultKeep set the
	// fault matrix (-only faults): tasks per run, the faults to inject,
	// the fraction of results in when each strikes, how long without a
	// result counts the rest as lost, and where to keep each run's files.
	FaultTasks  int           `json:"fault_tasks"`
	Faults      string        `json:"faults,omitempty"`
	FaultStrike float64       `json:"fault_strike"`
	FaultStall  time.Duration `json:"fault_stall"`
	FaultKeep   string        `json:"-"`
	// Python is the interpreter of the Python rows (python_command).
	Python string `json:"python"`
	// NoE2EPython skips the Python SDK's end-to-end rows, so that a
	// profile of the end-to-end phase (-cpuprofile) holds only the Go
	// SDK's no-op tasks.
	NoE2EPython bool `json:"no_e2e_python,omitempty"`
}

// defaultAMQPURL is the RabbitMQ scripts/start-services.sh runs.
const defaultAMQPURL = "amqp://guest:guest@127.0.0.1:5672/"

// amqpURL is the RabbitMQ of the end-to-end rows.
func (o *options) amqpURL() string {
	return cmp.Or(o.AMQPURL, os.Getenv("FUNCX_TEST_AMQP_URL"), defaultAMQPURL)
}

// phases are the values -only accepts.
var phases = []string{"dispatch", "engine", "python", "containers", "e2e", "hostile", "retention", "faults"}

// picks reports whether -only names the phase.
func (o *options) picks(phase string) bool {
	return slices.Contains(strings.Split(o.Only, ","), phase)
}

// runs reports whether the phase is selected.
func (o *options) runs(phase string) bool {
	return o.Only == "" || slices.Contains(strings.Split(o.Only, ","), phase)
}

// Default counts: chosen so that the full run stays well under two
// minutes on a 2-core machine (about 40 s) while each round lasts long
// enough for a rate to mean something. Five rounds, because single
// dispatch rounds on a shared machine were seen to range over almost 2x.
var defaults = options{
	DispatchTasks: 500_000, Managers: 4, Tasks: 20_000, Pings: 1_000, ShellTasks: 2_000, Workers: 2, Rounds: 5,
	Containers: true,
	E2ETasks:   20_000, RawBatch: 1, Prefetch: 16,
	RetentionTasks: 1_000_000,
	FaultTasks:     faults.DefaultTasks, FaultStrike: faults.DefaultStrikeAt, FaultStall: faults.DefaultStallTimeout,
	Python: defaultPython(),
}

// quickDefaults replace the counts under -quick, except those set on the
// command line: enough to exercise every path, fast even under -race.
var quickDefaults = options{
	DispatchTasks: 20_000, Managers: 2, Tasks: 400, Pings: 40, ShellTasks: 40, Workers: 2, Rounds: 1,
	Containers: true,
	E2ETasks:   400, RawBatch: 1, Prefetch: 16,
	RetentionTasks: 50_000,
	FaultTasks:     1_000, FaultStrike: faults.DefaultStrikeAt, FaultStall: faults.DefaultStallTimeout,
	Python: defaultPython(),
}

// errUsage is a command line the flag package refused and reported.
var errUsage = errors.New("bad command line")

// parseOptions reads the flags; -quick swaps in quickDefaults for the
// counts not given explicitly.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := defaults
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.DispatchTasks, "dispatch-tasks", o.DispatchTasks, "tasks per dispatch round (interchange and raw TCP echo)")
	fs.IntVar(&o.Managers, "managers", o.Managers, "fake managers in the dispatch rounds (and raw TCP connections)")
	fs.IntVar(&o.Tasks, "tasks", o.Tasks, "no-op Go tasks per engine round (and per direct-worker round)")
	fs.IntVar(&o.Pings, "pings", o.Pings, "one-task round trips per latency round")
	fs.IntVar(&o.ShellTasks, "shell-tasks", o.ShellTasks, "runs of \"true\" per shell round (engine and os/exec)")
	fs.IntVar(&o.Workers, "workers", o.Workers, "workers P of the first engine and the shell parallelism; a second engine runs 2P")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "alternating rounds of each measurement; the median is reported")
	fs.BoolVar(&o.Containers, "containers", o.Containers, "measure docker containers too (warm task vs raw task, cold start vs docker run); needs dockerd")
	fs.IntVar(&o.E2ETasks, "e2e-tasks", o.E2ETasks, "no-op tasks per end-to-end round (SDK -> service -> RabbitMQ -> endpoint)")
	fs.IntVar(&o.RawBatch, "raw-batch", o.RawBatch, "tasks per message of the raw RabbitMQ round trip baseline")
	fs.IntVar(&o.RetentionTasks, "retention-tasks", o.RetentionTasks, "tasks of the retention soak (-only retention) through the store layer")
	fs.IntVar(&o.Prefetch, "prefetch", o.Prefetch, "prefetch_capacity of the engines and the end-to-end endpoint: tasks a manager holds beyond one per worker, which sets how many tasks and results travel together (16: the setting for many short tasks)")
	fs.StringVar(&o.AMQPURL, "amqp-url", "", "RabbitMQ for the end-to-end rows (default $FUNCX_TEST_AMQP_URL, else "+defaultAMQPURL+")")
	fs.StringVar(&o.Only, "only", "", "run only these phases, comma-separated: "+strings.Join(phases, ", ")+" (hostile, retention and faults run only when named)")
	fs.StringVar(&o.Python, "python", o.Python, "the python3 of the Python rows (the workers' python_command and the pipe baseline's)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write this process's CPU profile to `file` (go tool pprof); in the end-to-end phase the service, the endpoint and the SDK carry the pprof label component=service|endpoint|sdk (-tagfocus), and FUNCX_CPUPROFILE_DIR=DIR profiles the managers and workers")
	fs.BoolVar(&o.NoE2EPython, "no-e2e-python", false, "skip the Python SDK's end-to-end rows (to profile the end-to-end phase's no-op tasks alone)")
	fs.IntVar(&o.FaultTasks, "fault-tasks", o.FaultTasks, "faults: shell tasks per run, split over two endpoints")
	fs.StringVar(&o.Faults, "faults", "", "faults: the faults to inject, comma-separated (default all: "+faultNames()+")")
	fs.Float64Var(&o.FaultStrike, "fault-strike", o.FaultStrike, "faults: fraction of the results in when the fault strikes")
	fs.DurationVar(&o.FaultStall, "fault-stall", o.FaultStall, "faults: how long without a result before the tasks still unanswered count as lost")
	fs.StringVar(&o.FaultKeep, "fault-keep", "", "faults: keep each run's files (service and endpoint logs, databases) in a directory under `dir`")
	fs.BoolVar(&o.Quick, "quick", false, "small counts, for a smoke test (explicit flags still win)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, errUsage
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, p := range map[string]struct{ dst, quick *int }{
			"dispatch-tasks":  {&o.DispatchTasks, &quickDefaults.DispatchTasks},
			"managers":        {&o.Managers, &quickDefaults.Managers},
			"tasks":           {&o.Tasks, &quickDefaults.Tasks},
			"pings":           {&o.Pings, &quickDefaults.Pings},
			"shell-tasks":     {&o.ShellTasks, &quickDefaults.ShellTasks},
			"workers":         {&o.Workers, &quickDefaults.Workers},
			"rounds":          {&o.Rounds, &quickDefaults.Rounds},
			"e2e-tasks":       {&o.E2ETasks, &quickDefaults.E2ETasks},
			"raw-batch":       {&o.RawBatch, &quickDefaults.RawBatch},
			"retention-tasks": {&o.RetentionTasks, &quickDefaults.RetentionTasks},
			"fault-tasks":     {&o.FaultTasks, &quickDefaults.FaultTasks},
		} {
			if !set[name] {
				*p.dst = *p.quick
			}
		}
	}
	return o, o.validate()
}

func (o *options) validate() error {
	var errs []error
	for name, v := range map[string]int{
		"-dispatch-tasks": o.DispatchTasks, "-managers": o.Managers, "-tasks": o.Tasks, "-pings": o.Pings,
		"-shell-tasks": o.ShellTasks, "-workers": o.Workers, "-rounds": o.Rounds,
		"-e2e-tasks": o.E2ETasks, "-raw-batch": o.RawBatch, "-retention-tasks": o.RetentionTasks, "-fault-tasks": o.FaultTasks,
	} {
		if v < 1 {
			errs = append(errs, fmt.Errorf("%s %d: must be at least 1", name, v))
		}
	}
	if _, err := faults.ParseFaults(o.Faults); err != nil {
		errs = append(errs, fmt.Errorf("-faults: %w", err))
	}
	if !(o.FaultStrike > 0 && o.FaultStrike < 1) {
		errs = append(errs, fmt.Errorf("-fault-strike %v: must be between 0 and 1", o.FaultStrike))
	}
	if o.FaultStall <= 0 {
		errs = append(errs, fmt.Errorf("-fault-stall %s: must be positive", o.FaultStall))
	}
	if o.Only != "" {
		for _, p := range strings.Split(o.Only, ",") {
			if !slices.Contains(phases, p) {
				errs = append(errs, fmt.Errorf("-only %q: unknown phase %q (want %s)", o.Only, p, strings.Join(phases, ", ")))
			}
		}
	}
	return errors.Join(errs...)
}

// faultNames lists the faults for the usage text.
func faultNames() string {
	names := make([]string, len(faults.All))
	for i, f := range faults.All {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}
