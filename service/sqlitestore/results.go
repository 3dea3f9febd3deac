package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// StoreResults stores an endpoint's results in one transaction; see
// service.Store.
//
// Statements insert many results at once (insertResults): each copies
// the owner and submission time from the task, requires that the task
// was routed to this endpoint and to its current registration (the
// task's incarnation is the endpoint row's), and leaves an existing
// result alone (UNIQUE task_rid), so the first terminal result wins.
// Only for a result not inserted does a second query tell why.
func (s *Store) StoreResults(ctx context.Context, endpointID string, results []funcx.Result, stored time.Time) (service.StoredResults, error) {
	var out service.StoredResults
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = service.StoredResults{Stored: make([]service.ResultRecord, 0, len(results))}
		terminal := make([]*funcx.Result, 0, len(results))
		seen := make(map[funcx.TaskID]struct{}, len(results))
		for i := range results {
			if !results[i].State.Terminal() {
				out.NotTerminal++
				continue
			}
			// The first of a task's results wins, whatever order one
			// statement inserts its rows in.
			if _, dup := seen[results[i].TaskID]; dup {
				out.Duplicates++
				continue
			}
			seen[results[i].TaskID] = struct{}{}
			terminal = append(terminal, &results[i])
		}
		for len(terminal) > 0 {
			// The largest prepared size that fits: a statement's text is
			// parsed once, at Open, not at every batch.
			n := maxResultsPerInsert
			for n > len(terminal) {
				n /= 2
			}
			if err := s.insertResults(ctx, tx, endpointID, terminal[:n], stored, &out); err != nil {
				return err
			}
			terminal = terminal[n:]
		}
		return nil
	})
	return out, err
}

// maxResultsPerInsert bounds the rows of one INSERT: each takes
// resultParams parameters, and SQLite takes at most 32,766. The store
// prepares the statements of every power of two up to it.
const maxResultsPerInsert = 512

// resultParams are the parameters of one row of qInsertResults.
const resultParams = 18

// qInsertResults inserts rows of resultParams values each (one
// "(?, ...)" per result follows it), then takes the stored time and the
// endpoint (twice: its tasks, its current incarnation). Multi-row: one statement per 512 results rather than per
// result, which the end-to-end profiles showed costs about 29 µs of the
// service's CPU per result.
const qInsertResultsHead = `INSERT INTO results (task_rid, task_id, owner, endpoint_id, state, output, stdout, stderr,
	truncated, exit_code, has_error, error_kind, error_message, error_stack, attempt, manager, worker,
	received_at, dispatched_at, started_at, finished_at, submitted_at, stored_at)
	SELECT t.rid, t.id, t.owner, t.endpoint_id, v.column1, v.column2, v.column3, v.column4, v.column5, v.column6,
	v.column7, v.column8, v.column9, v.column10, v.column11, v.column12, v.column13, v.column14, v.column15,
	v.column16, v.column17, t.submitted_at, ?
	FROM (VALUES `

// CROSS JOIN keeps the VALUES outer, so rows are inserted (and numbered)
// in the order of the results.
const qInsertResultsTail = `) v CROSS JOIN tasks t WHERE t.id = v.column18 AND t.endpoint_id = ?
	AND t.incarnation = (SELECT e.incarnation FROM endpoints e WHERE e.id = ?)
	ON CONFLICT (task_rid) DO NOTHING
	RETURNING seq, task_id, owner, submitted_at`

// insertResults inserts results (terminal ones, a power of two of
// them) and adds each to out.
func (s *Store) insertResults(ctx context.Context, tx *sql.Tx, endpointID string, results []*funcx.Result, stored time.Time, out *service.StoredResults) error {
	args := make([]any, 0, 2+resultParams*len(results))
	args = append(args, nanos(stored))
	for _, r := range results {
		var e funcx.TaskError
		if r.Error != nil {
			e = *r.Error
		}
		args = append(args, int(r.State), r.Output, r.Stdout, r.Stderr,
			r.Truncated, r.ExitCode, r.Error != nil, int(e.Kind), e.Message, e.Stack, r.Attempt, r.Manager, r.Worker,
			nanos(r.Times.Received), nanos(r.Times.Dispatched), nanos(r.Times.Started), nanos(r.Times.Finished),
			r.TaskID[:])
	}
	args = append(args, endpointID, endpointID)
	// len(results) is a power of two (StoreResults).
	st, err := s.ws.inTx(ctx, tx, qInsertResults[bits.TrailingZeros(uint(len(results)))])
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := st.QueryContext(rowContext(ctx), args...)
	if err != nil {
		return fmt.Errorf("insert %d results: %w", len(results), err)
	}
	type row struct {
		seq       int64
		owner     string
		submitted int64
	}
	inserted := make(map[funcx.TaskID]row, len(results))
	for rows.Next() {
		var id []byte
		var rw row
		if err := rows.Scan(&rw.seq, &id, &rw.owner, &rw.submitted); err != nil {
			rows.Close()
			return fmt.Errorf("insert %d results: %w", len(results), err)
		}
		var tid funcx.TaskID
		copy(tid[:], id)
		inserted[tid] = rw
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("insert %d results: %w", len(results), err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("insert %d results: %w", len(results), err)
	}
	for _, r := range results {
		rw, ok := inserted[r.TaskID]
		if !ok {
			if err := s.countNotInserted(ctx, tx, endpointID, r.TaskID, out); err != nil {
				return err
			}
			continue
		}
		out.Stored = append(out.Stored, service.ResultRecord{
			Seq: rw.seq, Owner: rw.owner, EndpointID: endpointID,
			Submitted: fromNanos(rw.submitted), Stored: stored, Result: *r,
		})
	}
	return nil
}

// countNotInserted counts a result that was not inserted: unknown (no
// such task), foreign (a task routed to another endpoint), duplicate (its
// task has a result) or stale (its task was routed to another
// registration of the endpoint, or the endpoint is deleted).
func (s *Store) countNotInserted(ctx context.Context, tx *sql.Tx, endpointID string, id funcx.TaskID, out *service.StoredResults) error {
	var ep string
	var routed, current int64
	var done bool
	err := tx.QueryRowContext(ctx, `SELECT t.endpoint_id, t.incarnation,
		EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid),
		COALESCE((SELECT e.incarnation FROM endpoints e WHERE e.id = ?), -1)
		FROM tasks t WHERE t.id = ?`, endpointID, id[:]).Scan(&ep, &routed, &done, &current)
	switch {
	case err == sql.ErrNoRows:
		out.Unknown++
	case err != nil:
		return fmt.Errorf("read task %s: %w", id, err)
	case ep != endpointID:
		out.Foreign++ // an endpoint may report only its own tasks
	case done:
		out.Duplicates++
	default:
		out.Stale++ // routed != current
	}
	return nil
}

// insertResultsQuery returns qInsertResults for n rows.
func insertResultsQuery(n int) string {
	const tuple = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	var b strings.Builder
	b.Grow(len(qInsertResultsHead) + n*(len(tuple)+2) + len(qInsertResultsTail))
	b.WriteString(qInsertResultsHead)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	b.WriteString(qInsertResultsTail)
	return b.String()
}

// Results returns owner's results with seq > after, in seq order.
func (s *Store) Results(ctx context.Context, owner string, after int64, limit int) ([]service.ResultRecord, error) {
	rows, err := s.rs.query(ctx, qResults, owner, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.ResultRecord
	for rows.Next() {
		var seq int64
		var id []byte
		var rr resultRow
		if err := rows.Scan(append([]any{&seq, &id}, rr.dest()...)...); err != nil {
			return nil, err
		}
		var tid funcx.TaskID
		copy(tid[:], id)
		out = append(out, rr.record(seq, tid))
	}
	return out, rows.Err()
}

// resultColumns are the results columns that resultRow scans, for r.
const resultColumns = `r.owner, r.endpoint_id, r.state, r.output, r.stdout, r.stderr, r.truncated, r.exit_code,
	r.has_error, r.error_kind, r.error_message, r.error_stack, r.attempt, r.manager, r.worker,
	r.received_at, r.dispatched_at, r.started_at, r.finished_at, r.submitted_at, r.stored_at`

// resultRow scans resultColumns; the types take NULL because Tasks reads
// them through a LEFT JOIN.
type resultRow struct {
	owner, endpoint, errMsg, errStack, manager                 sql.NullString
	state, exitCode, errKind, attempt, worker                  sql.NullInt64
	received, dispatched, started, finished, submitted, stored sql.NullInt64
	truncated, hasError                                        sql.NullBool
	output, stdout, stderr                                     []byte
}

func (rr *resultRow) dest() []any {
	return []any{&rr.owner, &rr.endpoint, &rr.state, &rr.output, &rr.stdout, &rr.stderr, &rr.truncated, &rr.exitCode,
		&rr.hasError, &rr.errKind, &rr.errMsg, &rr.errStack, &rr.attempt, &rr.manager, &rr.worker,
		&rr.received, &rr.dispatched, &rr.started, &rr.finished, &rr.submitted, &rr.stored}
}

func (rr *resultRow) record(seq int64, id funcx.TaskID) service.ResultRecord {
	r := funcx.Result{
		TaskID:    id,
		State:     funcx.TaskState(rr.state.Int64),
		Output:    rr.output,
		Stdout:    rr.stdout,
		Stderr:    rr.stderr,
		Truncated: rr.truncated.Bool,
		ExitCode:  int(rr.exitCode.Int64),
		Attempt:   int(rr.attempt.Int64),
		Manager:   rr.manager.String,
		Worker:    int(rr.worker.Int64),
		Times: funcx.Timings{
			Received:   fromNanos(rr.received.Int64),
			Dispatched: fromNanos(rr.dispatched.Int64),
			Started:    fromNanos(rr.started.Int64),
			Finished:   fromNanos(rr.finished.Int64),
		},
	}
	if rr.hasError.Bool {
		r.Error = &funcx.TaskError{Kind: funcx.ErrorKind(rr.errKind.Int64), Message: rr.errMsg.String, Stack: rr.errStack.String}
	}
	return service.ResultRecord{
		Seq: seq, Owner: rr.owner.String, EndpointID: rr.endpoint.String,
		Submitted: fromNanos(rr.submitted.Int64), Stored: fromNanos(rr.stored.Int64), Result: r,
	}
}
