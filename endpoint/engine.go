package endpoint

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/interchange"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/provider"
)

// Engine runs the fabric of one endpoint: an interchange, a block manager
// scaling provider blocks, and through them managers and workers.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	ix     *interchange.Interchange
	prov   provider.Provider
	blocks *provider.BlockManager
	// typed are the block managers of container types other than the
	// first under hard routing (engine_containers.go), typedNames their
	// types.
	typed      []*provider.BlockManager
	typedNames []string
	secret     string
	runID      string

	mu      sync.Mutex
	started bool
	stopped bool
}

// EngineStatus is a snapshot of an engine for status displays.
type EngineStatus struct {
	Interchange interchange.Stats
	Blocks      provider.Snapshot
	// BlocksByImage are the blocks of each image under hard container
	// routing (Blocks are then those of tasks without an image).
	BlocksByImage map[string]provider.Snapshot
}

// NewEngine validates cfg and builds an engine; Start runs it. It does no
// I/O: it listens on nothing and asks no scheduler or API server.
func NewEngine(cfg Config) (*Engine, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "engine")
	secret, err := randomHex(32)
	if err != nil {
		return nil, fmt.Errorf("make the run's secret: %w", err)
	}
	runID, err := randomHex(8)
	if err != nil {
		return nil, fmt.Errorf("make the run's id: %w", err)
	}
	ix, err := interchange.New(interchange.Config{
		ListenAddr:                cfg.InterchangeAddr,
		Secret:                    secret,
		HeartbeatPeriod:           cfg.HeartbeatPeriod,
		HeartbeatThreshold:        cfg.HeartbeatThreshold,
		MaxRetriesOnSystemFailure: cfg.MaxRetriesOnSystemFailure,
		Router:                    cfg.router(),
		Refuse:                    refuseFor(&cfg),
		Logger:                    cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	prov, err := cfg.newProvider()
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, log: log.With("run", runID), ix: ix, prov: prov, secret: secret, runID: runID}, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// RunID identifies this engine run. Every manager and worker process it
// starts carries it in its environment as FUNCX_RUN_ID.
func (e *Engine) RunID() string { return e.runID }

// Start starts the provider (the Kubernetes provider removes the pods an
// earlier run left), opens the interchange and submits the initial
// blocks, all with ctx. It returns an error, with the scheduler's own
// message, if the provider cannot start or the first blocks cannot be
// submitted; nothing is left running then.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("engine: Start called twice")
	}
	e.started = true
	if err := provider.Start(ctx, e.prov); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if err := e.ix.Start(ctx); err != nil {
		return err
	}
	addr := e.cfg.AdvertiseAddr
	if addr == "" {
		addr = e.ix.Addr().String()
	}
	launcher, _ := provider.LauncherByName(e.cfg.Provider.Launcher) // validated
	types := e.cfg.hardTypes()
	if len(types) == 0 {
		types = []string{funcx.RawContainer}
	}
	var all []*provider.BlockManager
	var err error
	for i, typ := range types {
		var blocks *provider.BlockManager
		if blocks, err = e.newBlocks(i, typ, len(types) > 1, addr, launcher); err == nil {
			err = blocks.Start(ctx)
		}
		if err != nil {
			for _, b := range all {
				_ = b.Stop(ctx)
			}
			e.stopInterchange(ctx)
			return fmt.Errorf("engine: %w", err)
		}
		all = append(all, blocks)
	}
	e.blocks, e.typed, e.typedNames = all[0], all[1:], types[1:]
	p := e.cfg.Provider
	e.log.Info("engine started", "interchange", addr, "provider", p.Type, "init_blocks", p.InitBlocks, "max_blocks", p.MaxBlocks,
		"worker_mode", e.cfg.WorkerMode, "container_routing", e.cfg.ContainerRouting)
	return nil
}

// newBlocks makes the block manager of container type typ (the i-th); when
// perType, it sees only that type's load and its blocks get IDs of their
// own.
func (e *Engine) newBlocks(i int, typ string, perType bool, addr string, launcher provider.Launcher) (*provider.BlockManager, error) {
	prov, prefix, load := e.prov, "", e.load
	if perType {
		prefix = blockPrefix(i)
		prov = prefixedProvider{Provider: e.prov, prefix: prefix}
		load = func() provider.Load { return e.loadFor(typ, prefix) }
	}
	p := e.cfg.Provider
	return provider.NewBlockManager(provider.BlockManagerConfig{
		Provider: prov,
		JobTemplate: func(blockID string) provider.Job {
			return e.job(prefix+blockID, addr, launcher, typ)
		},
		Scaling: provider.ScalingConfig{
			InitBlocks:     p.InitBlocks,
			MinBlocks:      p.MinBlocks,
			MaxBlocks:      p.MaxBlocks,
			NodesPerBlock:  p.NodesPerBlock,
			WorkersPerNode: p.ManagersPerNode * (e.cfg.workersPerManager() + e.cfg.PrefetchCapacity),
			Parallelism:    p.Parallelism,
			MaxIdleTime:    e.cfg.Strategy.MaxIdleTime,
		},
		Load:   load,
		Logger: e.cfg.Logger,
	})
}

// job is the block template: the launcher-wrapped manager command, with the
// manager's configuration (and the run's secret) in its environment.
func (e *Engine) job(blockID, addr string, launcher provider.Launcher, typ string) provider.Job {
	c := &e.cfg
	mcfg := manager.Config{
		InterchangeAddr:       addr,
		Secret:                e.secret,
		BlockID:               blockID,
		RunID:                 e.runID,
		MaxWorkers:            c.MaxWorkersPerNode,
		CoresPerWorker:        c.CoresPerWorker,
		MemPerWorker:          c.MemPerWorker,
		AvailableAccelerators: c.AvailableAccelerators,
		Prefetch:              c.PrefetchCapacity,
		HeartbeatPeriod:       c.HeartbeatPeriod,
		HeartbeatThreshold:    c.HeartbeatThreshold,
		WorkerCommand:         c.WorkerCommand,
		PythonCommand:         c.PythonCommand,
		Walltime:              c.Provider.Walltime,
		Container:             c.managerContainer(typ),
	}
	env := map[string]string{manager.EnvLogLevel: c.ManagerLogLevel, manager.EnvRunID: e.runID}
	entries, err := manager.Environ(mcfg)
	if err != nil { // a Config of plain values always encodes
		panic(err)
	}
	for _, kv := range entries {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	quoted := make([]string, len(c.ManagerCommand))
	for i, a := range c.ManagerCommand {
		quoted[i] = provider.ShellQuote(a)
	}
	var scriptDir string
	if c.LogDir != "" {
		scriptDir = c.LogDir + "/submit_scripts"
	}
	p := &c.Provider
	return provider.Job{
		BlockID:          blockID,
		Command:          launcher.Wrap(strings.Join(quoted, " "), p.ManagersPerNode, p.NodesPerBlock),
		WorkerInit:       c.WorkerInit,
		Env:              env,
		Nodes:            p.NodesPerBlock,
		TasksPerNode:     p.ManagersPerNode,
		Walltime:         p.Walltime,
		ScriptDir:        scriptDir,
		Partition:        p.Partition,
		Account:          p.Account,
		QOS:              p.QOS,
		Queue:            p.Queue,
		SchedulerOptions: p.SchedulerOptions,
		Image:            c.blockImage(typ),
		Constraint:       p.Constraint,
		Exclusive:        p.Exclusive,
		CoresPerNode:     p.CoresPerNode,
		MemoryPerNode:    p.MemPerNode,
		GPUsPerNode:      p.GPUsPerNode,
		Labels:           map[string]string{"funcx-run": e.runID},
	}
}

// load turns the interchange's figures into the scaler's view of blocks.
func (e *Engine) load() provider.Load {
	s := e.ix.Stats()
	l := provider.Load{Outstanding: s.Pending + s.InFlight, Blocks: map[string]provider.BlockLoad{}}
	for _, m := range s.Managers {
		b := l.Blocks[m.BlockID]
		idle := b.Managers == 0 || !b.IdleSince.IsZero() // all managers so far idle
		b.Connected = true
		b.Managers++
		b.Busy += m.InFlight
		switch {
		case !idle || m.IdleSince.IsZero():
			b.IdleSince = time.Time{}
		case m.IdleSince.After(b.IdleSince):
			b.IdleSince = m.IdleSince
		}
		l.Blocks[m.BlockID] = b
	}
	return l
}

// Submit queues tasks. Each gets exactly one result on Results.
func (e *Engine) Submit(tasks ...funcx.Task) error {
	for i := range tasks {
		if err := tasks[i].Function.Validate(); err != nil {
			return fmt.Errorf("task %s: %w", tasks[i].ID, err)
		}
	}
	if err := e.ix.Submit(tasks...); err != nil {
		return err
	}
	if e.blocks != nil {
		e.blocks.Poke()
	}
	for _, b := range e.typed {
		b.Poke()
	}
	return nil
}

// Results delivers batches of results; it is closed after Stop.
func (e *Engine) Results() <-chan []funcx.Result { return e.ix.Results() }

// Status returns the engine's load and block figures.
func (e *Engine) Status() EngineStatus {
	st := EngineStatus{Interchange: e.ix.Stats()}
	if e.blocks != nil {
		st.Blocks = e.blocks.Snapshot()
	}
	for i, b := range e.typed {
		if st.BlocksByImage == nil {
			st.BlocksByImage = map[string]provider.Snapshot{}
		}
		st.BlocksByImage[e.typedNames[i]] = b.Snapshot()
	}
	return st
}

// InterchangeAddr is the address managers dial; nil before Start.
func (e *Engine) InterchangeAddr() net.Addr { return e.ix.Addr() }

// Drain stops dispatching and waits for tasks in flight to finish, or for
// ctx to end. Queued tasks stay queued.
func (e *Engine) Drain(ctx context.Context) error { return e.ix.Drain(ctx) }

// Stop shuts the managers down, cancels every block and waits until they
// have ended, then closes Results. Tasks not finished get no result (the
// endpoint's journal re-runs them). Stop is idempotent and may be called
// before Start.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return nil
	}
	e.stopped = true
	var errs []error
	// The interchange first: managers told to shut down stop their workers
	// at once and no ManagerLost results are made up for a planned stop.
	errs = append(errs, e.stopInterchange(ctx))
	if e.blocks != nil {
		errs = append(errs, e.blocks.Stop(ctx))
	}
	for _, b := range e.typed {
		errs = append(errs, b.Stop(ctx))
	}
	errs = append(errs, provider.Shutdown(ctx, e.prov))
	errs = append(errs, e.removeRunContainers(ctx))
	return errors.Join(errs...)
}

func (e *Engine) stopInterchange(ctx context.Context) error {
	err := e.ix.Stop(ctx)
	go func() { // nobody else may be reading; let the channel close
		for range e.ix.Results() {
		}
	}()
	return err
}
