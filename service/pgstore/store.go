// Package pgstore is a service.Store on PostgreSQL, through
// github.com/jackc/pgx/v5 and its connection pool: the store for a
// service that outgrows one process, with several funcx-service replicas
// on one database behind a load balancer.
//
// # Schema
//
// The tables live in a schema of their own (Config.Schema, "funcx" by
// default), created at Open, which then applies the schema migrations
// the database lacks, each recorded in schema_migrations. Replicas
// starting at once take turns (an advisory lock); a database migrated
// by a newer program is refused. Times are bigint Unix nanoseconds, as in
// sqlitestore, task IDs uuid.
//
// # Seq order across writers
//
// Long polls page results by seq and rely on one rule (service.Store):
// a reader that has seen seq N never later finds a new result below N.
// A PostgreSQL sequence alone breaks it: two transactions take seqs 7
// and 8, the one with 8 commits first, a reader sees 8 and moves its
// cursor past 7, which then commits and is never read.
//
// Every transaction that inserts results (StoreResults, DeleteEndpoint's
// failures, DeleteUnpublished, which must not race them) therefore
// first takes one transaction-level advisory lock of the schema
// (pg_advisory_xact_lock) and only then takes its seqs from the
// sequence. PostgreSQL releases transaction locks after the commit is
// visible, so the next writer's seqs are taken after the previous
// writer's results became visible: seqs become visible in increasing
// order, across connections and replicas. The price is that result
// writes are serialized, as SQLite's single writer serializes every
// write; everything else (submissions, token checks, polls, heartbeats)
// runs in parallel. Result writes come in batches (one transaction per
// AMQP delivery, many results each), so the lock is taken per batch.
//
// The alternatives were weighed: a commit-ordered log that one sequencer
// numbers adds a process and a hop to every result; readers that stop
// below the lowest seq still in flight need every writer to register its
// seqs somewhere readers can see before committing, which is the same
// serialization point with more moving parts. The conformance suite
// (storetest) checks the rule with concurrent writers on two stores and
// fails without the lock.
//
// # Several replicas
//
// Each transaction that stores results or deletes an endpoint also sends
// a notification (pg_notify, delivered at commit, in commit order) on the
// schema's channel; WatchChanges listens on a connection of its own and
// hands the other processes' changes to the service (service.SharedStore),
// which wakes its long polls, forgets a deleted endpoint and consumes a
// newly registered one at once. After the listening connection was lost
// it reconnects and reports service.ChangeResync, since notifications
// may have been missed meanwhile.
//
// Rows that races between replicas could break are locked: a submission
// holds its endpoint's row (FOR KEY SHARE) until it commits, so an
// endpoint deletion (FOR UPDATE) either fails the submission's tasks or
// makes the submission fail with ErrDeleted; registrations lock the
// endpoint's row or, for a new ID, insert it ON CONFLICT and look again.
// Transactions that PostgreSQL aborts as deadlocked (concurrent
// submissions of the same task IDs in different orders) are retried.
//
// # Retention
//
// DeleteExpiredResults deletes the oldest results by seq, stopping at the
// first one not yet expired, so that no index on the storage time costs
// every result write; one replica at a time deletes (a transaction-level
// try-lock), and without the results lock, so result writes never wait
// for it. Autovacuum gives the deleted rows' space to new ones.
package pgstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	mathrand "math/rand/v2"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/funcx-go/funcx/service"
)

// Defaults of Config.
const (
	DefaultSchema   = "funcx"
	DefaultMaxConns = 8
)

// Config configures Open.
type Config struct {
	// URL is the PostgreSQL connection string, a URL
	// (postgres://user:password@host:5432/database?sslmode=require) or
	// libpq's key=value form; PG* environment variables fill what it
	// leaves out, as for psql. Required.
	URL string
	// Schema is the schema that holds the store's tables, created if
	// missing: one database may hold several stores (several services,
	// or tests) in different schemas. A lower-case SQL identifier of at
	// most 57 characters. Defaults to the URL's search_path parameter
	// (postgres://host/database?search_path=NAME) if it has one, else
	// DefaultSchema.
	Schema string
	// MaxConns bounds the pool's connections; WatchChanges holds one
	// more of its own. Defaults to DefaultMaxConns.
	MaxConns int
	// Logger receives the store's logs (a lost listening connection).
	// Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with defaults filled in.
func (c Config) WithDefaults() Config {
	c.Schema = cmp.Or(c.Schema, DefaultSchema)
	c.MaxConns = cmp.Or(c.MaxConns, DefaultMaxConns)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// schemaName is what Config.Schema may be: an identifier that needs no
// quoting, short enough for the channel name built from it.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,56}$`)

func (c Config) validate() error {
	switch {
	case c.URL == "":
		return errors.New("pgstore: URL is required")
	case !schemaName.MatchString(c.Schema):
		return fmt.Errorf("pgstore: Schema %q is not a lower-case identifier (a-z, 0-9, _) of at most 57 characters", c.Schema)
	case c.MaxConns < 0:
		return fmt.Errorf("pgstore: MaxConns %d is negative", c.MaxConns)
	}
	return nil
}

// Store is a service.Store (and a service.SharedStore) on PostgreSQL. Its
// methods are safe for concurrent use.
type Store struct {
	pool      *pgxpool.Pool
	listenCfg *pgx.ConnConfig // WatchChanges' connections
	log       *slog.Logger
	schema    string
	// channel is the schema's notification channel; origin tells this
	// store's notifications from other processes'.
	channel, origin string
	// resultsLock is the advisory lock key that orders result writes
	// (see the package documentation).
	resultsLock int64
	// retentionLock lets one replica at a time delete expired results.
	retentionLock int64

	closing context.Context // ends WatchChanges at Close
	close   context.CancelFunc
}

var (
	_ service.Store       = (*Store)(nil)
	_ service.SharedStore = (*Store)(nil)
)

// Open connects to the database, creates the schema if needed and
// applies the migrations it lacks.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("pgstore: URL is required")
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's message quotes the connection string, password and all.
		return nil, errors.New("pgstore: URL is not a PostgreSQL connection string (postgres://user:password@host:port/database?options)")
	}
	if cfg.Schema == "" {
		cfg.Schema = pc.ConnConfig.RuntimeParams["search_path"]
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pc.MaxConns = int32(cfg.MaxConns)
	// Unqualified names resolve in the store's schema.
	pc.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	pc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	if pc.ConnConfig.RuntimeParams["application_name"] == "" {
		pc.ConnConfig.RuntimeParams["application_name"] = "funcx-service"
	}
	origin := make([]byte, 8)
	rand.Read(origin)
	closing, cancel := context.WithCancel(context.Background())
	s := &Store{
		listenCfg:     pc.ConnConfig.Copy(),
		log:           cfg.Logger.With("component", "pgstore"),
		schema:        cfg.Schema,
		channel:       "funcx_" + cfg.Schema,
		origin:        hex.EncodeToString(origin),
		resultsLock:   lockKey("results", cfg.Schema),
		retentionLock: lockKey("retention", cfg.Schema),
		closing:       closing,
		close:         cancel,
	}
	// The listening connection shows as such in pg_stat_activity.
	s.listenCfg.RuntimeParams["application_name"] = "funcx-service listen " + cfg.Schema
	if s.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		cancel()
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("pgstore: connect to %s:%d as %s: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.User, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool and ends WatchChanges.
func (s *Store) Close() error {
	s.close()
	s.pool.Close()
	return nil
}

// lockKey is the advisory lock key of what in schema: advisory locks
// are database-wide, and stores in other schemas must not share them.
func lockKey(what, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("funcx-go/pgstore\x00" + what + "\x00" + schema))
	return int64(h.Sum64())
}

// maxAttempts bounds the runs of a transaction that PostgreSQL aborted
// as a deadlock or a serialization failure.
const maxAttempts = 8

// tx runs fn in a transaction, committing if it returns nil, and runs it
// again after a short random pause (fn must start afresh each time) if
// PostgreSQL aborted it as a deadlock (two administrators deleting an
// identity and one of its endpoints at once, say): one of them gives way.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
		pause := time.Duration(mathrand.Int64N(int64(time.Millisecond) << attempt))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// errRetry makes tx run its transaction again: a row it relied on
// changed under it.
var errRetry = errors.New("run the transaction again")

// retryable reports a deadlock or serialization failure, or errRetry.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, errRetry) || errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// isCode reports a PostgreSQL error with that SQLSTATE: 23505
// unique_violation, 23503 foreign_key_violation.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// notFound maps pgx.ErrNoRows to service.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return service.ErrNotFound
	}
	return err
}

// nanos and fromNanos store times as Unix nanoseconds, 0 for the zero
// time.
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
