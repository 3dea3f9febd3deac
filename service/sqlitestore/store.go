// Package sqlitestore is the service's embedded store: SQLite through
// modernc.org/sqlite (pure Go, no cgo, so binaries stay static).
//
// The database runs in WAL mode so that readers never block the writer.
// All writes go through one connection: SQLite has one writer at a time
// anyway, and queueing writers in the process is cheaper and more
// predictable than letting them fight for the file lock (SQLITE_BUSY).
// Reads use a small pool of read-only connections. Transactions begin
// IMMEDIATE, so a writer takes the lock up front instead of failing to
// upgrade it halfway; busy_timeout covers other processes (the CLI's user
// commands) writing the same file. No commit copies the WAL into the
// database file: a checkpointer does, on a connection of its own (see
// checkpointer), so that no request waits for it.
package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/funcx-go/funcx/service"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Defaults of Config.
const (
	DefaultBusyTimeout = 5 * time.Second
	DefaultMaxReaders  = 4
)

// Config configures Open.
type Config struct {
	// Path is the database file, created if missing; ":memory:" is a
	// private in-memory database (one connection for reads and writes),
	// for tests. Required.
	Path string
	// BusyTimeout is how long a statement waits for another process's
	// lock before failing. Defaults to DefaultBusyTimeout.
	BusyTimeout time.Duration
	// MaxReaders bounds the read connections. Defaults to
	// DefaultMaxReaders.
	MaxReaders int
	// CheckpointInterval is how often the WAL's new pages are copied into
	// the database file, off the commit path (see checkpointer).
	// Defaults to DefaultCheckpointInterval.
	CheckpointInterval time.Duration
	// Logger receives the store's logs (a database file whose mode Open
	// tightened). Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with defaults filled in.
func (c Config) WithDefaults() Config {
	c.BusyTimeout = cmp.Or(c.BusyTimeout, DefaultBusyTimeout)
	c.MaxReaders = cmp.Or(c.MaxReaders, DefaultMaxReaders)
	c.CheckpointInterval = cmp.Or(c.CheckpointInterval, DefaultCheckpointInterval)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Path == "":
		return errors.New("sqlitestore: Path is required")
	case strings.ContainsRune(c.Path, '?'):
		return fmt.Errorf("sqlitestore: Path %q contains '?', which the driver reads as options", c.Path)
	case c.BusyTimeout < 0:
		return fmt.Errorf("sqlitestore: BusyTimeout %s is negative", c.BusyTimeout)
	case c.MaxReaders < 0:
		return fmt.Errorf("sqlitestore: MaxReaders %d is negative", c.MaxReaders)
	case c.CheckpointInterval < 0:
		return fmt.Errorf("sqlitestore: CheckpointInterval %s is negative", c.CheckpointInterval)
	}
	return nil
}

// Store is a service.Store on SQLite. Its methods are safe for concurrent
// use.
type Store struct {
	w *sql.DB // the single writer connection
	r *sql.DB // read-only connections; == w for ":memory:"
	// ws and rs are the prepared statements of w and r.
	ws, rs *stmtCache
	cp     *checkpointer // nil for ":memory:", which has no WAL
}

var _ service.Store = (*Store)(nil)

// Open opens (creating if needed) the database and applies the schema
// migrations it lacks. The database and the files SQLite keeps beside it
// are created 0600, and an existing one readable by others is made so
// (see fileMode).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// A 64 MiB page cache (per connection) keeps the indexes of random
	// task IDs in memory; the default 2 MiB made big submissions spill.
	pragmas := fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)&_txlock=immediate",
		cfg.BusyTimeout.Milliseconds())
	if cfg.Path == ":memory:" {
		db, err := sql.Open("sqlite", cfg.Path+pragmas)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: open in-memory database: %w", err)
		}
		db.SetMaxOpenConns(1)
		db.SetConnMaxIdleTime(0) // the database lives as long as its one connection
		s := &Store{w: db, r: db, ws: newStmtCache(db)}
		s.rs = s.ws
		if err := s.migrate(ctx); err != nil {
			return nil, err
		}
		return s, s.prepareHot(ctx)
	}
	if err := secureFiles(cfg.Path, cfg.Logger); err != nil {
		return nil, err
	}
	// synchronous=NORMAL is durable across process crashes in WAL mode;
	// only an OS crash can lose the last transactions. The writer leaves
	// checkpoints to the checkpointer, and the WAL file is cut back to
	// 64 MiB when it restarts after a burst.
	w, err := sql.Open("sqlite", cfg.Path+pragmas+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
		"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", cfg.Path+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for reading: %w", cfg.Path, err)
	}
	r.SetMaxOpenConns(cfg.MaxReaders)
	s := &Store{w: w, r: r, ws: newStmtCache(w), rs: newStmtCache(r)}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareHot(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if s.cp, err = startCheckpointer(cfg.Path, pragmas, cfg.CheckpointInterval, cfg.Logger); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	var err error
	if s.cp != nil {
		err = s.cp.stop()
	}
	err = errors.Join(err, s.ws.close())
	if s.rs != s.ws {
		err = errors.Join(err, s.rs.close())
	}
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlitestore: create schema_migrations: %w", err)
	}
	var have int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("sqlitestore: read schema version: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this program's %d", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlitestore: apply migration %d: %w", v, err)
		}
	}
	return nil
}

// tx runs fn in a write transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// rowContext is the context for the many one-row queries of a
// transaction. database/sql starts a goroutine to watch the context of
// every query whose context can be cancelled; the transaction already
// watches ctx and rolls back when it ends, so its rows need not.
func rowContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// nanos and fromNanos store times as Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// notFound maps sql.ErrNoRows to service.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return service.ErrNotFound
	}
	return err
}

// isUnique reports a UNIQUE or PRIMARY KEY constraint failure.
func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}
