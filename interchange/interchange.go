package interchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/routing"
)

// ErrStopped is returned by Submit after Stop.
var ErrStopped = errors.New("interchange: stopped")

// Interchange dispatches tasks to managers. Create it with New, then Start.
type Interchange struct {
	cfg Config
	log *slog.Logger

	ln      net.Listener
	results chan []funcx.Result
	kick    chan struct{} // wakes the dispatcher; capacity 1
	done    chan struct{} // closed by Stop
	stopped chan struct{} // closed with Results, once every goroutine ended
	wg      sync.WaitGroup

	startOnce, stopOnce sync.Once
	started             bool

	mu       sync.Mutex
	pending  queues
	managers map[string]*managerConn
	order    []*managerConn // managers in connection order, for routing
	holding  bool           // Drain: dispatch nothing more
	badRoute bool           // the router assigned to no manager (logged once)
	early    []funcx.Result // refused before Start
	route    routeScratch   // dispatchOnce's buffers, reused by every call
	counters Counters
	inflight int
}

// Counters are running totals since Start.
type Counters struct {
	Submitted  uint64
	Dispatched uint64
	Completed  uint64 // results delivered, any state
	Retried    uint64 // tasks re-queued after a lost manager or worker
	Lost       uint64 // managers declared lost
	Refused    uint64 // connections refused at handshake
	Stale      uint64 // results dropped: unknown task or lost manager
}

// New validates cfg and returns an interchange that is not yet listening.
func New(cfg Config) (*Interchange, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Interchange{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "interchange", "interchange", cfg.ID),
		results:  make(chan []funcx.Result, 1024),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
		managers: map[string]*managerConn{},
	}, nil
}

// Start listens for managers and starts dispatching. It returns once the
// listener is open; ctx bounds only the start itself.
func (ix *Interchange) Start(ctx context.Context) error {
	err := errors.New("interchange: Start called twice")
	ix.startOnce.Do(func() {
		var lc net.ListenConfig
		var ln net.Listener
		ln, err = lc.Listen(ctx, "tcp", ix.cfg.ListenAddr)
		if err != nil {
			err = fmt.Errorf("interchange: listen on %s: %w", ix.cfg.ListenAddr, err)
			return
		}
		ix.mu.Lock()
		ix.ln, ix.started = ln, true
		if len(ix.early) > 0 {
			ix.answerLater(ix.early)
			ix.early = nil
		}
		ix.mu.Unlock()
		ix.log.Info("listening for managers", "addr", ln.Addr().String())
		ix.wg.Add(2)
		go ix.acceptLoop()
		go ix.dispatchLoop()
	})
	return err
}

// Addr is the address managers connect to; nil before Start.
func (ix *Interchange) Addr() net.Addr {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.ln == nil {
		return nil
	}
	return ix.ln.Addr()
}

// Submit queues tasks and routes those that managers have room for. It
// never blocks on managers.
func (ix *Interchange) Submit(tasks ...funcx.Task) error {
	select {
	case <-ix.done:
		return ErrStopped
	default:
	}
	now := time.Now()
	var refused []funcx.Result
	ix.mu.Lock()
	for i := range tasks {
		if tasks[i].Received.IsZero() {
			tasks[i].Received = now
		}
		if ix.cfg.Refuse != nil {
			if err := ix.cfg.Refuse(&tasks[i]); err != nil {
				refused = append(refused, funcx.FailedResult(&tasks[i], err, now))
				continue
			}
		}
		ix.pending.pushBack(tasks[i])
	}
	ix.counters.Submitted += uint64(len(tasks))
	if len(refused) > 0 {
		ix.counters.Completed += uint64(len(refused))
		ix.answerLater(refused)
	}
	ix.mu.Unlock()
	// Routed here, on the caller's goroutine, rather than by waking the
	// dispatch loop: a task alone (the common case on a quiet endpoint)
	// reaches its manager's writer one goroutine hand-off sooner, about a
	// tenth of a millisecond on a loaded 2-core machine. Routing never
	// blocks on a manager: it only queues tasks for the writers.
	ix.dispatchOnce()
	return nil
}

// answerLater delivers results from a goroutine, so that Submit never
// blocks on the Results channel. Called with mu held: Stop closes done
// before it takes mu, so a goroutine added here is one Stop waits for.
func (ix *Interchange) answerLater(rs []funcx.Result) {
	select {
	case <-ix.done:
		return
	default:
	}
	if !ix.started {
		ix.early = append(ix.early, rs...) // answered by Start
		return
	}
	ix.wg.Add(1)
	go func() {
		defer ix.wg.Done()
		ix.deliver(rs)
	}()
}

// Results delivers batches of results. It is closed after Stop once every
// goroutine that produces results has ended. Each task submitted yields
// exactly one result, unless the interchange is stopped first.
func (ix *Interchange) Results() <-chan []funcx.Result { return ix.results }

// Drain stops dispatching and waits until no task is in flight on any
// manager, or ctx ends. Pending tasks stay queued.
func (ix *Interchange) Drain(ctx context.Context) error {
	ix.mu.Lock()
	ix.holding = true
	ix.mu.Unlock()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		ix.mu.Lock()
		n := ix.inflight
		ix.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interchange: drain with %d tasks in flight: %w", n, ctx.Err())
		case <-t.C:
		}
	}
}

// Stop tells every manager to shut down, closes all connections, waits for
// the interchange's goroutines and closes Results. Tasks not finished are
// abandoned: the endpoint's journal still holds them. Stop is idempotent
// and may be called before Start; it returns ctx.Err() if its goroutines
// outlive ctx.
func (ix *Interchange) Stop(ctx context.Context) error {
	ix.stopOnce.Do(func() {
		close(ix.done)
		ix.mu.Lock()
		if ix.ln != nil {
			_ = ix.ln.Close()
		}
		conns := append([]*managerConn(nil), ix.order...)
		started := ix.started
		ix.mu.Unlock()
		for _, m := range conns {
			m.shutdown()
		}
		if !started {
			close(ix.results)
			close(ix.stopped)
			return
		}
		go func() {
			ix.wg.Wait()
			close(ix.results)
			close(ix.stopped)
		}()
	})
	select {
	case <-ctx.Done():
		// Force: connections whose managers do not read their shutdown.
		ix.mu.Lock()
		for _, m := range ix.order {
			_ = m.conn.Close()
		}
		ix.mu.Unlock()
		return ctx.Err()
	case <-ix.stopped:
		return nil
	}
}

// deliver hands a batch of results to the endpoint, unless stopping.
func (ix *Interchange) deliver(batch []funcx.Result) {
	if len(batch) == 0 {
		return
	}
	select {
	case ix.results <- batch:
	case <-ix.done:
	}
}

func (ix *Interchange) wake() {
	select {
	case ix.kick <- struct{}{}:
	default:
	}
}

func (ix *Interchange) acceptLoop() {
	defer ix.wg.Done()
	for {
		conn, err := ix.ln.Accept()
		if err != nil {
			select {
			case <-ix.done:
			default:
				ix.log.Error("accept failed; no more managers can connect", "err", err)
			}
			return
		}
		ix.wg.Add(1)
		go ix.serve(conn)
	}
}

// dispatchLoop routes pending tasks whenever a manager connects, slots
// free up or held tasks are released (Submit routes new tasks itself).
func (ix *Interchange) dispatchLoop() {
	defer ix.wg.Done()
	for {
		select {
		case <-ix.done:
			return
		case <-ix.kick:
		}
		ix.dispatchOnce()
	}
}

// routeScratch is what one routing hands the Router; its buffers are kept
// between calls (under mu) so that routing a lone task allocates nothing.
type routeScratch struct {
	snaps   []routing.Manager
	pend    []routing.Pending
	assigns []routing.Assignment
}

// dispatchOnce routes what is pending to the managers' free slots.
func (ix *Interchange) dispatchOnce() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.holding || ix.pending.total == 0 || len(ix.order) == 0 {
		return
	}
	snaps, pend, assigns := ix.route.snaps[:0], ix.route.pend[:0], ix.route.assigns[:0]
	defer func() { ix.route = routeScratch{snaps, pend, assigns} }()
	for _, typ := range ix.pending.order {
		if n := ix.pending.byType[typ].len(); n > 0 {
			pend = append(pend, routing.Pending{Type: typ, Count: n})
		}
	}
	for _, m := range ix.order {
		snaps = append(snaps, m.snapshot())
	}
	assigns = ix.cfg.Router.Route(pend, snaps, assigns)
	if len(assigns) == 0 {
		return
	}
	now := time.Now()
	n := 0
	for _, a := range assigns {
		// The router may be the caller's: an assignment to no manager, or
		// beyond a manager's free slots, is cut rather than trusted.
		if a.Manager < 0 || a.Manager >= len(snaps) {
			if !ix.badRoute {
				ix.badRoute = true
				ix.log.Error("the router assigned tasks to a manager that does not exist; such assignments are ignored", "manager", a.Manager, "managers", len(snaps))
			}
			continue
		}
		a.Count = min(a.Count, snaps[a.Manager].Free)
		if a.Count <= 0 {
			continue
		}
		snaps[a.Manager].Free -= a.Count
		m := ix.order[a.Manager]
		m.outMu.Lock()
		ix.pending.popFront(a.Type, a.Count, func(t *funcx.Task) {
			m.inflight[t.ID] = inflightTask{task: *t, dispatched: now}
			m.out = append(m.out, *t)
			n++
		})
		m.outMu.Unlock()
		m.idleSince = time.Time{}
		if len(m.status.Types) > 0 { // a container manager: soft routing reads its warm figures
			if m.sentSinceStatus == nil {
				m.sentSinceStatus = map[string]int{}
			}
			m.sentSinceStatus[a.Type] += a.Count
		}
		m.wakeWriter()
	}
	ix.inflight += n
	ix.counters.Dispatched += uint64(n)
}
