package endpoint

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/internal/journal"
)

// Defaults of RunConfig.
const (
	DefaultStopGrace      = 30 * time.Second
	DefaultReconnectMax   = 30 * time.Second
	DefaultPublishBatch   = 4096
	defaultReconnectFirst = 200 * time.Millisecond
)

// DialFunc connects to the endpoint's broker. Run calls it again after a
// connection is lost, so it must make a fresh connection each time.
type DialFunc = func(ctx context.Context) (broker.EndpointConn, error)

// RunConfig is an endpoint's configuration for Run: the engine's Config
// plus what links it to its service.
type RunConfig struct {
	Config
	// EndpointID is the ID the service gave the endpoint at registration.
	// Required.
	EndpointID string
	// JournalPath is the endpoint's journal file. Required: without a
	// journal a crash would lose tasks.
	JournalPath string
	// Dial connects to the broker with the endpoint's credentials.
	// Required.
	Dial DialFunc
	// StopGrace is how long a stop lets tasks in flight finish and
	// their results reach the broker (which get at least MinStopPublish
	// for it). Stopping the engine afterwards (cancelling its blocks)
	// may take as long again. Defaults to DefaultStopGrace.
	StopGrace time.Duration
	// ReconnectMax caps the wait between reconnection attempts. Defaults
	// to DefaultReconnectMax.
	ReconnectMax time.Duration
	// Ready, if set, is called once the endpoint is up: the journal is
	// open, the engine started and the first broker connection made.
	Ready func()
	// OnEngine, if set, is called with the engine once it is built and
	// before it starts any block, so that a supervisor can record
	// Engine.RunID (to find the run's processes after a crash). Other
	// methods of the engine may be used only after Ready.
	OnEngine func(*Engine)
}

// Run runs an endpoint until ctx ends: tasks arrive from the broker, are
// written to the journal and only then acknowledged, run on the engine,
// and stay in the journal until the broker has confirmed their results
// (a result the broker did not take waits in the journal's outbox; see
// resultpath.go). After a crash, the next Run re-publishes the outbox and
// re-runs journaled tasks that have no result: every task runs at least
// once and gets exactly one recorded result.
//
// A stop (ctx ends) stops taking tasks but keeps the broker connection:
// it lets tasks in flight finish for StopGrace, publishes their results
// and waits for the broker's confirms (dialing again if the connection
// is lost), sends a last heartbeat, and only then closes the connection
// and stops the engine. Tasks still unfinished stay in the journal, and
// results the broker could not take in the outbox, for the next run.
// Tasks delivered after the stop began are not run: they go back to the
// broker's queue.
func Run(ctx context.Context, rc RunConfig) error {
	rc = rc.withDefaults()
	if err := rc.validate(); err != nil {
		return err
	}
	j, err := journal.Open(rc.JournalPath, journal.Options{Logger: rc.Logger})
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	defer j.Close()

	eng, err := NewEngine(rc.Config)
	if err != nil {
		return err
	}
	r := &runner{rc: rc, log: rc.Logger.With("component", "endpoint", "endpoint", rc.EndpointID), j: j, eng: eng,
		published: make(chan struct{}, 1), publishSlots: make(chan struct{}, maxPublishesInFlight), refused: make(chan []funcx.Result, refusedQueue), conns: newConnHolder(),
		early: confirmedEarly{wake: make(chan struct{}, 1)}, journalLinger: journalLinger}
	if rc.OnEngine != nil {
		rc.OnEngine(eng)
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), rc.StopGrace)
		defer cancel()
		if err := eng.Stop(sctx); err != nil {
			r.log.Error("stopping the engine", "err", err)
		}
	}()
	return r.run(ctx)
}

func (rc *RunConfig) validate() error {
	var errs []error
	if err := rc.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if rc.EndpointID == "" {
		errs = append(errs, errors.New("endpoint_id is empty: register the endpoint with the service first"))
	}
	if rc.JournalPath == "" {
		errs = append(errs, errors.New("journal path is empty"))
	}
	if rc.Dial == nil {
		errs = append(errs, errors.New("no broker to dial"))
	}
	if rc.StopGrace < 0 || rc.ReconnectMax < 0 {
		errs = append(errs, errors.New("stop grace and reconnect max must not be negative"))
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy of rc with zero fields defaulted.
func (rc RunConfig) withDefaults() RunConfig {
	rc.Config = rc.Config.WithDefaults()
	rc.StopGrace = cmp.Or(rc.StopGrace, DefaultStopGrace)
	rc.ReconnectMax = cmp.Or(rc.ReconnectMax, DefaultReconnectMax)
	return rc
}

type runner struct {
	rc        RunConfig
	log       *slog.Logger
	j         *journal.Journal
	eng       *Engine
	conns     *connHolder
	published chan struct{} // wakes the publisher: the outbox grew
	// publishSlots holds a token per result publish awaiting its
	// confirm (see maxPublishesInFlight).
	publishSlots chan struct{}
	// refused carries the failures of delivered tasks the engine cannot
	// run to the result path, which journals and publishes them like the
	// engine's results.
	refused  chan []funcx.Result
	recorded atomic.Uint64 // results taken from the engine and journaled
	// sent tracks results published straight from the result loop while
	// they are journaled (see resultpath.go).
	sent    sentResults
	flushMu sync.Mutex
	// live holds the tasks taken from the broker whose results are not
	// yet journaled.
	live liveTasks
	// early holds the tasks whose results the broker confirmed, until
	// the result loop takes them; the journaler does not journal them.
	early confirmedEarly
	// journalLinger is how long a delivery's commit waits for its
	// tasks' results (see journaler.go).
	journalLinger time.Duration
	// unsent says that the outbox may hold results nobody is publishing
	// (left by the last run, journaled while disconnected, or whose
	// publish failed): the publisher reads the outbox only then.
	unsent atomic.Bool
	// lastConfirm is when the publisher last removed confirmed results
	// from the outbox; it is owned by whoever holds flushMu.
	lastConfirm time.Time
}

func (r *runner) run(ctx context.Context) error {
	// Recover what a previous run left: results to publish, tasks to run.
	if err := r.replay(ctx); err != nil {
		return err
	}
	r.unsent.Store(true)
	r.wakePublisher()

	// runCtx keeps the link, the result path and the publisher going
	// through a stop, until its results are out. take ends with ctx, at
	// once (a child's cancel is synchronous): no delivery that comes
	// after the stop began is run.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	take, stopTaking := context.WithCancel(ctx)
	defer stopTaking()
	heartbeatCtx, stopHeartbeats := context.WithCancel(runCtx)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); r.linkLoop(runCtx, take) }()
	go func() { defer wg.Done(); r.resultLoop(runCtx) }()
	go func() { defer wg.Done(); r.publishLoop(runCtx) }()
	heartbeatDone := make(chan struct{})
	go func() { defer close(heartbeatDone); r.heartbeatLoop(heartbeatCtx) }()

	<-ctx.Done()
	r.stop(func() { stopHeartbeats(); <-heartbeatDone })
	// Only now does the link close its connection.
	cancelRun()
	wg.Wait()
	return nil
}

// linkLoop keeps a broker connection until ctx ends, dialing again when
// one is lost. While take lasts it journals, acks and submits each
// delivery; once take has ended (a stop) it takes no more tasks but
// keeps the connection, for the results of the tasks the stop lets
// finish and its last heartbeat.
func (r *runner) linkLoop(ctx, take context.Context) {
	backoff := defaultReconnectFirst
	ready := r.rc.Ready
	for ctx.Err() == nil {
		conn, err := r.rc.Dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("cannot reach the broker; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, r.rc.ReconnectMax)
			if take.Err() != nil {
				backoff = min(backoff, stopReconnectMax)
			}
			continue
		}
		backoff = defaultReconnectFirst
		r.log.Info("connected to the broker")
		if take.Err() != nil {
			r.stopDeliveries(ctx, conn, nil) // reconnected during a stop
		}
		r.conns.set(conn)
		r.unsent.Store(true)
		r.wakePublisher() // results may have waited for a connection
		if ready != nil {
			ready()
			ready = nil
		}
		if take.Err() == nil {
			held := r.consume(take, conn)
			if take.Err() != nil {
				r.stopDeliveries(ctx, conn, held)
			}
		}
		if take.Err() != nil {
			select {
			case <-ctx.Done():
			case <-conn.Done():
			}
		}
		r.conns.clear(conn)
		_ = conn.Close()
		if ctx.Err() == nil {
			r.log.Warn("lost the broker connection; reconnecting", "err", conn.Err())
		}
	}
}

// consume handles deliveries until the connection ends or ctx does. A
// fresh task goes to the engine at once, while its journal commit waits
// and runs (see journaler.go); the delivery is acked only once its tasks
// are journaled or their results confirmed.
// A delivery received after ctx ended is not run: consume returns it.
func (r *runner) consume(ctx context.Context, conn broker.EndpointConn) (held *broker.Delivery) {
	jr := newJournaler(r)
	defer jr.stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-conn.Done():
			return nil
		case <-jr.failed:
			// Not journaled: the journaler left the deliveries unacked;
			// drop the connection so that the broker redelivers them.
			return nil
		case d, ok := <-conn.Deliveries():
			if !ok {
				return nil
			}
			if ctx.Err() != nil {
				return &d // both were ready; the stop wins
			}
			c := &commitWait{done: make(chan struct{})}
			fresh := r.live.admit(d.Tasks, c, r.knownTask)
			jr.add(d, c)
			r.submitLive(ctx, fresh)
		}
	}
}

// knownTask reports whether a delivered task was taken before: it is in
// the journal (waiting, running, or recently done), or its result was
// confirmed and waits to be recorded done (a task the journaler did not
// journal is in the journal only from then on).
func (r *runner) knownTask(id funcx.TaskID) bool {
	return r.j.Known(id) || r.sent.isConfirmed(id)
}

// submitLive hands delivered tasks to the engine. A task the engine
// cannot run fails alone, at once, with InvalidTask: the others of its
// delivery run, and nobody waits for it until the next start.
func (r *runner) submitLive(ctx context.Context, fresh []funcx.Task) {
	runnable, failures := splitRunnable(fresh, func(err error) string {
		return fmt.Sprintf("the endpoint cannot run this task (%v); it was not run", err)
	})
	if len(failures) > 0 {
		r.log.Warn("failing tasks the engine cannot run", "tasks", len(failures), "first", failures[0].Error.Message)
		select {
		case r.refused <- failures:
		case <-ctx.Done(): // not failed: journaled, they are replayed (and fail) at the next start
		}
	}
	if len(runnable) > 0 {
		if err := r.eng.Submit(runnable...); err != nil {
			r.log.Error("engine refused tasks; they stay journaled for the next run", "err", err)
		}
	}
}

// waitRecorded waits until every result the engine has produced went
// through the result loop, so that a stop publishes all of them.
func (r *runner) waitRecorded(ctx context.Context) {
	for r.recorded.Load() < r.eng.Status().Interchange.Counters.Completed {
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (r *runner) wakePublisher() {
	select {
	case r.published <- struct{}{}:
	default:
	}
}

// publishLoop sends the outbox to the broker whenever it grows or a
// connection comes back, and removes what the broker confirmed.
func (r *runner) publishLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second) // retries after a failed publish
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.published:
		case <-tick.C:
		}
		r.flushOutbox(ctx, false)
	}
}

// Confirmed results are recorded as done in the next delivery's commit
// (journaler.commit) or, when no delivery comes, by the publisher in one
// commit per confirmEvery (or confirmBatch results) rather than one per
// flush: until then a crash only publishes them once more, or runs their
// tasks once more if they never went to the outbox (the service drops
// the duplicates), and a commit (an fsync) per result batch would double
// the journal's work and hold up the next tasks' commits.
const (
	confirmEvery = 50 * time.Millisecond
	confirmBatch = 4096
)

// flushOutbox records what the broker confirmed as done (every
// confirmEvery, or at once before a read of the outbox), then, if
// results may be waiting there unsent (or final), publishes the outbox
// until it is empty (but for results the result loop is publishing),
// the connection is gone, or ctx ends. It reports whether it read the
// outbox empty.
func (r *runner) flushOutbox(ctx context.Context, final bool) (empty bool) {
	// One flush at a time: the publisher's, or the last one of a stop.
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	// A read of the outbox confirms first, so that it does not meet
	// results published already.
	scan := r.unsent.Swap(false) || final
	if scan || r.sent.confirmedCount() >= confirmBatch || time.Since(r.lastConfirm) >= confirmEvery {
		r.lastConfirm = time.Now()
		if ids := r.sent.takeConfirmed(); len(ids) > 0 {
			if err := r.j.Confirm(ctx, ids); err != nil {
				// Left in the outbox or the task table: the next run
				// publishes them, or runs their tasks, again and the
				// service drops the duplicates.
				r.log.Error("recording confirmed results as done failed", "err", err)
			}
			r.sent.confirmDone(ids)
		}
	}
	if !scan {
		return false
	}
	for ctx.Err() == nil {
		conn := r.conns.current()
		if conn == nil {
			return false
		}
		results, err := r.j.Outbox(DefaultPublishBatch)
		if err != nil {
			r.log.Error("reading the outbox failed", "err", err)
			r.unsent.Store(true)
			return false
		}
		results = r.sent.skipSent(results)
		if len(results) == 0 {
			return true
		}
		if err := conn.PublishResults(ctx, results); err != nil {
			r.log.Warn("publishing results failed; they stay in the outbox", "results", len(results), "err", err)
			r.unsent.Store(true)
			return false
		}
		ids := make([]funcx.TaskID, len(results))
		for i := range results {
			ids[i] = results[i].TaskID
		}
		if err := r.j.Confirm(ctx, ids); err != nil {
			// Published but still in the outbox: they go out again and the
			// service drops the duplicates.
			r.log.Error("removing confirmed results from the outbox failed", "err", err)
			r.unsent.Store(true)
			return false
		}
	}
	return false
}

// heartbeatLoop sends a heartbeat every HeartbeatPeriod, and one at once
// whenever the link has a new connection (the first, or after a
// reconnect): the service sees the endpoint online as soon as it can
// take tasks, not a period later, and again as soon as it is back.
func (r *runner) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(r.rc.HeartbeatPeriod)
	defer t.Stop()
	var sentOn broker.EndpointConn // the connection of the last heartbeat
	due := true
	for {
		c, changed := r.conns.watch()
		if c != nil && (due || c != sentOn) {
			if err := c.PublishHeartbeat(ctx, r.heartbeat()); err != nil && ctx.Err() == nil {
				r.log.Warn("heartbeat failed", "err", err)
			}
			sentOn, due = c, false
			t.Reset(r.rc.HeartbeatPeriod)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			due = true
		case <-changed:
		}
	}
}

func (r *runner) heartbeat() broker.Heartbeat {
	hb := heartbeatOf(r.rc.EndpointID, r.eng.Status(), time.Now())
	hb.QuarantinedRecords = r.j.Stats().Quarantined
	return hb
}

// connHolder shares the current broker connection between the link loop
// that owns it and the publishers that use it.
type connHolder struct {
	mu   sync.Mutex
	conn broker.EndpointConn
	// changed is closed and replaced whenever conn changes.
	changed chan struct{}
}

func newConnHolder() *connHolder { return &connHolder{changed: make(chan struct{})} }

func (h *connHolder) set(c broker.EndpointConn) {
	h.mu.Lock()
	h.conn = c
	h.changedLocked()
	h.mu.Unlock()
}

func (h *connHolder) clear(c broker.EndpointConn) {
	h.mu.Lock()
	if h.conn == c {
		h.conn = nil
		h.changedLocked()
	}
	h.mu.Unlock()
}

func (h *connHolder) changedLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// await returns the current connection if it has not ended, or waits
// for the link to make one, or for ctx to end.
func (h *connHolder) await(ctx context.Context) (broker.EndpointConn, error) {
	for {
		h.mu.Lock()
		c, changed := h.conn, h.changed
		h.mu.Unlock()
		if c != nil {
			select {
			case <-c.Done(): // the link is about to clear it
			default:
				return c, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// watch returns the current connection (nil if none) and a channel
// closed when it changes.
func (h *connHolder) watch() (broker.EndpointConn, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn, h.changed
}

func (h *connHolder) current() broker.EndpointConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn
}

// sentResults tracks the results the result loop publishes itself: those
// in flight, and those the broker confirmed that the journal does not
// yet record as done. The publisher sends neither again, and records the
// confirmed ones as done (Confirm takes each from the outbox, or from
// the task table if it never went to the outbox).
type sentResults struct {
	mu        sync.Mutex
	inFlight  map[funcx.TaskID]struct{}
	confirmed map[funcx.TaskID]struct{}
}

func (s *sentResults) start(ids []funcx.TaskID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inFlight == nil {
		s.inFlight = make(map[funcx.TaskID]struct{})
		s.confirmed = make(map[funcx.TaskID]struct{})
	}
	for _, id := range ids {
		s.inFlight[id] = struct{}{}
	}
}

func (s *sentResults) finish(ids []funcx.TaskID, confirmed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.inFlight, id)
		if confirmed {
			s.confirmed[id] = struct{}{}
		}
	}
}

// takeConfirmed returns the confirmed IDs, which stay skipped until
// confirmDone says the outbox no longer holds them.
func (s *sentResults) takeConfirmed() []funcx.TaskID {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]funcx.TaskID, 0, len(s.confirmed))
	for id := range s.confirmed {
		ids = append(ids, id)
	}
	return ids
}

// isConfirmed reports whether id's result is confirmed and not yet
// recorded done.
func (s *sentResults) isConfirmed(id funcx.TaskID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.confirmed[id]
	return ok
}

func (s *sentResults) confirmedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.confirmed)
}

func (s *sentResults) confirmDone(ids []funcx.TaskID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.confirmed, id)
	}
}

// skipSent drops from results, in place, those in flight or confirmed.
func (s *sentResults) skipSent(results []funcx.Result) []funcx.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.inFlight) == 0 && len(s.confirmed) == 0 {
		return results
	}
	return slices.DeleteFunc(results, func(r funcx.Result) bool {
		_, sending := s.inFlight[r.TaskID]
		_, sent := s.confirmed[r.TaskID]
		return sending || sent
	})
}
