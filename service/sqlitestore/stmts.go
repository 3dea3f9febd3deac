package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// stmtCache holds the prepared statements of the hot paths (the token of
// every request, the results page of every poll, the row of every task
// and result) for one database handle: the SQLite driver parses a
// statement's text on every query otherwise, which the profiles of the
// end-to-end benchmark showed as a tenth of the service's CPU. They are
// prepared once, at Open: the writer has a single connection, so a
// statement prepared on the handle inside a transaction would wait for
// that transaction forever.
type stmtCache struct {
	db *sql.DB
	m  map[string]*sql.Stmt // read-only after prepare
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

// prepare prepares queries; Open calls it before the store is shared.
func (c *stmtCache) prepare(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, ok := c.m[q]; ok {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		c.m[q] = st
	}
	return nil
}

// queryRow runs query, prepared if it was.
func (c *stmtCache) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := c.m[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// exec runs query, prepared if it was.
func (c *stmtCache) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := c.m[query]; ok {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

// query runs query, prepared if it was.
func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := c.m[query]; ok {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

// inTx returns query's statement for use in tx: the one prepared at Open
// if there is one, else one prepared in tx.
func (c *stmtCache) inTx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := c.m[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

func (c *stmtCache) close() error {
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	clear(c.m)
	return errors.Join(errs...)
}

// The statements of the hot paths, prepared at Open.
const (
	qTokenIdentity = `SELECT i.id, i.name, i.client_id, i.created_at, t.expires_at
		FROM tokens t JOIN identities i ON i.id = t.identity_id WHERE t.hash = ?`
	qResults = `SELECT r.seq, r.task_id, ` + resultColumns + ` FROM results r
		WHERE r.owner = ? AND r.seq > ? ORDER BY r.seq LIMIT ?`
	// Every submission inserts one, then marks it published.
	qInsertSubmission = `INSERT INTO submissions (published, submitted_at) VALUES (0, ?)`
	qMarkPublished    = `UPDATE submissions SET published = 1 WHERE id = ?`
	// Every submission reads its endpoint's incarnation (incarnations):
	// parsed at every submission, it was a quarter of AddTasks' CPU.
	qEndpointIncarnation = `SELECT incarnation FROM endpoints WHERE id = ? AND owner = ?`
)

// maxTasksPerInsert bounds the rows of one task INSERT (taskParams
// parameters each); the store prepares every power of two up to it.
// One statement per row cost about 5 µs of the service's CPU per task in
// the end-to-end benchmark.
const (
	maxTasksPerInsert = 512
	taskParams        = 8
)

// qInsertTasks insert 1, 2, 4 ... maxTasksPerInsert tasks (insertTasks);
// RETURNING names the tasks inserted, not already stored.
var qInsertTasks = func() []string {
	const tuple = "(?, ?, ?, ?, ?, ?, ?, ?)"
	var qs []string
	for n := 1; n <= maxTasksPerInsert; n *= 2 {
		var b strings.Builder
		b.WriteString(`INSERT INTO tasks (id, owner, endpoint_id, function_id, state, submission, submitted_at, incarnation) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
		}
		b.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id`)
		qs = append(qs, b.String())
	}
	return qs
}()

// qInsertResults store 1, 2, 4 ... maxResultsPerInsert results
// (insertResults).
var qInsertResults = func() []string {
	var qs []string
	for n := 1; n <= maxResultsPerInsert; n *= 2 {
		qs = append(qs, insertResultsQuery(n))
	}
	return qs
}()

// prepareHot prepares the hot statements on both handles.
func (s *Store) prepareHot(ctx context.Context) error {
	if err := s.ws.prepare(ctx, append(append([]string{qInsertSubmission, qMarkPublished, qEndpointIncarnation}, qInsertTasks...), qInsertResults...)...); err != nil {
		return fmt.Errorf("sqlitestore: prepare statements: %w", err)
	}
	if err := s.rs.prepare(ctx, qTokenIdentity, qResults); err != nil {
		return fmt.Errorf("sqlitestore: prepare statements: %w", err)
	}
	return nil
}
