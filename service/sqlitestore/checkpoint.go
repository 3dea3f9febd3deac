package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckpointInterval is how often, by default, the checkpointer
// copies the WAL's new pages into the database file.
const DefaultCheckpointInterval = 200 * time.Millisecond

// The checkpointer. In WAL mode a commit appends pages to the -wal file;
// a checkpoint copies them into the database file and fsyncs both. By
// default SQLite runs it inside whichever commit takes the WAL past 1,000
// pages, and that commit waits for it: about 8 ms here, once every 60 or
// so commits, so about one task in twenty of the benchmark's one-task
// latency paid it (its p99 was 12 ms for a p50 of 2.7 ms). The writer
// therefore never checkpoints (wal_autocheckpoint=0); this goroutine
// does, on a connection of its own, in PASSIVE mode, which copies what
// no reader still needs and waits for no one: commits go on appending
// meanwhile. A crash loses nothing either way: committed pages are in the
// WAL until they are copied.
type checkpointer struct {
	db       *sql.DB
	interval time.Duration
	log      *slog.Logger
	quit     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
	// last is the outcome of the newest checkpoint, for tests and logs.
	last atomic.Pointer[checkpointOutcome]
}

// checkpointOutcome is what PRAGMA wal_checkpoint reports of the WAL.
type checkpointOutcome struct {
	log          int // pages in the WAL
	checkpointed int // of them, pages now in the database file
}

// startCheckpointer opens the checkpointer's connection to path and
// starts its goroutine, which runs until stop.
func startCheckpointer(path, pragmas string, interval time.Duration, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+pragmas+"&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s for checkpoints: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0) // one connection, kept for the store's life
	c := &checkpointer{db: db, interval: interval, log: log, quit: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			// With nothing new in the WAL a checkpoint only reads the
			// WAL's index: no copy, no fsync.
			if err := c.checkpoint(context.Background()); err != nil {
				c.log.Warn("WAL checkpoint failed; the next one retries", "err", err)
			}
		}
	}
}

// checkpoint runs one PASSIVE checkpoint.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy int // another checkpoint ran: this one copied nothing
	var o checkpointOutcome
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &o.log, &o.checkpointed); err != nil {
		return err
	}
	c.last.Store(&o)
	return nil
}

// stop ends the goroutine and closes the connection; later calls do
// nothing.
func (c *checkpointer) stop() (err error) {
	c.stopOnce.Do(func() {
		close(c.quit)
		c.done.Wait()
		err = c.db.Close()
	})
	return err
}
