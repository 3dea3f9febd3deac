package faults

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

// run is one run's world.
type run struct {
	cfg    Config
	fault  Fault
	log    *slog.Logger
	dir    string // the run's files
	tmp    string // TMPDIR of every process the run starts
	marker string // envMarker's value
	env    []string
	svc    *serviceProc
	eps    []*endpointProc
	cl     *client.Client
	hc     *http.Client // for the management API and /metrics
	mgmt   *management
	dups   dupCounter
	ranLog string // each task appends its index here

	lock       *brokertest.RabbitMQLock // held shared; exclusively around stop_app and start_app
	rabbitDown bool                     // stop_app ran, start_app not yet
	brokerDown func()                   // called once stop_app has stopped RabbitMQ
	stopGuard  func()                   // ends the RabbitMQ guard, if started
}

// Run runs cfg.Tasks shell tasks over two endpoints, injects fault once a
// fraction cfg.StrikeAt of the results is in, and returns what it
// measured. The error is a failure of the harness itself (something would
// not start); what the fabric lost or left behind is in the Row, and
// Row.Check judges it. Everything Run starts is stopped before it
// returns, whatever failed.
func Run(ctx context.Context, cfg Config, fault Fault) (row Row, err error) {
	cfg = cfg.WithDefaults()
	row = Row{Fault: fault, Tasks: cfg.Tasks, NextResult: -1, RateBack: -1, Failed: map[string]int{}}
	if err := cfg.validate(); err != nil {
		return row, err
	}
	if !slices.Contains(All, fault) {
		return row, fmt.Errorf("unknown fault %q", fault)
	}
	started := time.Now()
	defer func() { row.Seconds = time.Since(started).Seconds() }()
	r := &run{cfg: cfg, fault: fault, log: cfg.Logger.With("fault", string(fault)), marker: "faults-" + rand.Text()[:16]}

	// Other tests share the RabbitMQ: held shared, so that none of them
	// stops it under this run; exclusively only to stop it (strike).
	if r.lock, err = brokertest.OpenRabbitMQLock(); err != nil {
		return row, err
	}
	defer r.lock.Close()
	if err := r.lock.Share(); err != nil {
		return row, err
	}
	defer func() { err = errors.Join(err, r.teardown(&row)) }()
	if err := r.setup(ctx); err != nil {
		return row, err
	}
	err = r.drive(ctx, &row)
	return row, err
}

// setup starts the service and two endpoints.
func (r *run) setup(ctx context.Context) (err error) {
	if r.cfg.KeepDir != "" {
		if err := os.MkdirAll(r.cfg.KeepDir, 0o750); err != nil {
			return err
		}
		r.dir, err = os.MkdirTemp(r.cfg.KeepDir, string(r.fault)+"-")
	} else {
		r.dir, err = os.MkdirTemp("", "funcx-faults-")
	}
	if err != nil {
		return err
	}
	r.tmp = filepath.Join(r.dir, "tmp")
	if err := os.Mkdir(r.tmp, 0o700); err != nil {
		return err
	}
	r.ranLog = filepath.Join(r.dir, "ran.log")
	if err := os.WriteFile(r.ranLog, nil, 0o600); err != nil {
		return err
	}
	r.env = append(cleanEnv(), "HOME="+filepath.Join(r.dir, "home"), "TMPDIR="+r.tmp, envMarker+"="+r.marker)
	r.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	r.dups.hc = r.hc
	if r.mgmt, err = newManagement(r.hc, r.cfg.ManagementURL); err != nil {
		return err
	}
	if err := r.mgmt.do(ctx, "GET", "overview", nil); err != nil {
		return fmt.Errorf("RabbitMQ is not reachable: %w\n"+
			"Run scripts/start-services.sh (as root) to install and start it", err)
	}

	r.svc = &serviceProc{bin: r.cfg.Binaries.Service, db: filepath.Join(r.dir, "service.db"), amqpURL: r.cfg.AMQPURL,
		logPath: filepath.Join(r.dir, "service.log"), env: r.env}
	id, secret, err := r.svc.addUser(ctx, "faults")
	if err != nil {
		return err
	}
	if err := r.svc.start(ctx); err != nil {
		return err
	}
	r.log.Info("service up", "url", r.svc.url(), "dir", r.dir)
	r.cl, err = client.New(client.Config{ServiceURL: r.svc.url(), ClientID: id, ClientSecret: secret,
		Logger: r.cfg.Logger.With("component", "sdk")})
	if err != nil {
		return err
	}
	for _, name := range []string{"A", "B"} {
		home := filepath.Join(r.dir, "endpoint-"+name)
		ep := &endpointProc{name: name, bin: r.cfg.Binaries.Endpoint, home: home,
			env: append(slices.Clone(r.env), client.EnvHome+"="+home, client.EnvServiceURL+"="+r.svc.url(),
				client.EnvClientID+"="+id, client.EnvClientSecret+"="+secret)}
		r.eps = append(r.eps, ep)
		if err := ep.configure(ctx, r.endpointConfig()); err != nil {
			return err
		}
		if err := ep.start(ctx); err != nil {
			return err
		}
		r.log.Info("endpoint up", "endpoint", name, "id", ep.id, "run", ep.runID())
	}
	return nil
}

// endpointConfig is what each endpoint's config.toml gets.
func (r *run) endpointConfig() string {
	return fmt.Sprintf(`max_workers_per_node = %d
prefetch_capacity = %d
max_retries_on_system_failure = %d
heartbeat_period = "1s"
heartbeat_threshold = "10s"

[provider]
init_blocks = 1
min_blocks = 1
max_blocks = 1
`, r.cfg.WorkersPerEndpoint, r.cfg.Prefetch, r.cfg.MaxRetries)
}

// drive runs the tasks, strikes, waits for every result (or a stall) and
// fills the row's result columns.
func (r *run) drive(ctx context.Context, row *Row) error {
	fn, err := r.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "record", Kind: "shell",
		Script: "echo {i} >> " + shellQuote(r.ranLog)})
	if err != nil {
		return err
	}
	ids := []string{r.eps[0].id, r.eps[1].id}
	l := newLoad(r.cl, fn, ids, r.cfg.Tasks, r.cfg.Window, r.log)
	defer l.close()

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	feedCtx, stopFeed := context.WithCancel(ctx)
	var bg sync.WaitGroup
	defer func() { stopFeed(); bg.Wait() }()
	// The service's duplicates counter, every second; its URL is the
	// same across restarts.
	url := r.svc.url()
	bg.Go(func() {
		for sleepCtx(feedCtx, time.Second) == nil {
			r.dups.scrape(feedCtx, url)
		}
	})
	began := time.Now()
	l.start(runCtx, feedCtx, &bg)

	// finish stops submitting, gives late rows (a second result of a
	// task) a moment to show, stops the feed and counts.
	finish := func() {
		stopRun()
		<-l.done
		_ = sleepCtx(ctx, time.Second)
		stopFeed()
		bg.Wait()
		r.dups.scrape(ctx, url)
		row.ServiceDuplicates = r.dups.total()
		l.account(row, 30*time.Second)
	}

	strike := max(1, int(r.cfg.StrikeAt*float64(r.cfg.Tasks)))
	if err := l.waitResults(ctx, strike, r.cfg.StallTimeout); err != nil {
		row.note("the fault never struck: %v", err)
		finish()
		return ctx.Err()
	}
	if r.fault == RabbitMQRestart {
		// The other tests using RabbitMQ finish first; the submitters wait
		// meanwhile, then refill their windows but keep a window's worth
		// back until the broker is down, so that the outage meets work
		// however long the wait and the stop take.
		l.holdBack(r.cfg.Tasks)
		r.log.Info("waiting for the RabbitMQ lock, exclusively: other tests using RabbitMQ finish first")
		waited := time.Now()
		err := r.lock.Own(ctx)
		l.holdBack(r.cfg.Window)
		r.brokerDown = func() { l.holdBack(0) }
		if err != nil {
			l.holdBack(0)
			row.note("the fault never struck: %v", err)
			finish()
			return err
		}
		row.note("waited %.1f s for the RabbitMQ lock", time.Since(waited).Seconds())
		l.waitBusy(ctx, 10*time.Second)
	}
	r.log.Info("striking", "results", strike, "after", time.Since(began).Round(time.Millisecond))
	faultAt, calm, err := r.inject(ctx, row)
	if r.brokerDown != nil {
		r.brokerDown() // if stop_app failed
	}
	if r.fault == RabbitMQRestart && !r.rabbitDown {
		// RabbitMQ is up again (or never went down): the others may use it.
		err = errors.Join(err, r.lock.Share())
	}
	if err != nil {
		row.note("injecting the fault failed: %v", err)
		finish()
		return err
	}
	all, err := l.waitFinished(ctx, calm, r.cfg.StallTimeout)
	if err != nil {
		finish()
		return err
	}
	n, last := l.results()
	switch {
	case all:
	case last.Before(faultAt):
		row.note("%d of %d tasks answered, none after the fault (waited %s)", n, r.cfg.Tasks, r.cfg.StallTimeout)
	default:
		row.note("%d of %d tasks answered, then no result for %s (the last %.1f s after the fault)",
			n, r.cfg.Tasks, r.cfg.StallTimeout, last.Sub(faultAt).Seconds())
	}
	r.log.Info("results in", "results", n, "all", all, "seconds", time.Since(began).Seconds())
	finish()
	for _, a := range l.arrivalsCopy() {
		if a.at.After(calm) {
			row.ResultsAfter++
		}
	}
	if r.fault != None {
		// A killed process of endpoint A must run tasks again; a service
		// or broker outage, deliver results again.
		affected := func(string) bool { return true }
		newWork := r.fault == WorkerKill || r.fault == ManagerKill || r.fault == EndpointKill
		if newWork {
			struck := r.eps[0].id
			affected = func(ep string) bool { return ep == struck }
		}
		row.NextResult, row.RateBack = recovery(l.arrivalsCopy(), faultAt, calm, affected, newWork)
	}
	return nil
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
