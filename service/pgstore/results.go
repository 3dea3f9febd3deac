package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// lockResults takes the results lock of the transaction: the next result
// writer takes its seqs only after this transaction's results are
// visible (see the package documentation).
func (s *Store) lockResults(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.resultsLock); err != nil {
		return fmt.Errorf("take the results lock: %w", err)
	}
	return nil
}

// StoreResults stores an endpoint's results in one transaction; see
// service.Store.
//
// One statement inserts them all, from arrays: each row copies the owner
// and submission time from its task, requires that the task was routed
// to this endpoint and to its current registration, and that it has no
// result yet (the first terminal result wins; under the results lock no
// other writer adds one meanwhile). Seqs are taken in the order of the
// results. Only for results not inserted does a second query tell why.
func (s *Store) StoreResults(ctx context.Context, endpointID string, results []funcx.Result, stored time.Time) (service.StoredResults, error) {
	var out service.StoredResults
	terminal := make([]*funcx.Result, 0, len(results))
	seen := make(map[funcx.TaskID]struct{}, len(results))
	var notTerminal, dups int
	for i := range results {
		if !results[i].State.Terminal() {
			notTerminal++
			continue
		}
		// The first of a task's results in the batch wins.
		if _, dup := seen[results[i].TaskID]; dup {
			dups++
			continue
		}
		seen[results[i].TaskID] = struct{}{}
		terminal = append(terminal, &results[i])
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = service.StoredResults{Stored: make([]service.ResultRecord, 0, len(terminal)), NotTerminal: notTerminal, Duplicates: dups}
		if len(terminal) == 0 {
			return nil
		}
		if err := s.lockResults(ctx, tx); err != nil {
			return err
		}
		if err := insertResults(ctx, tx, endpointID, terminal, stored, &out); err != nil {
			return err
		}
		if len(out.Stored) == 0 {
			return nil
		}
		return s.notify(ctx, tx, resultsChange(out.Stored))
	})
	return out, err
}

// resultArrays are the columns of a batch of results, one array each.
type resultArrays struct {
	ids                                  [][16]byte
	states, kinds                        []int16
	outputs, stdouts, stderrs            [][]byte
	truncated, hasError                  []bool
	exitCodes, attempts, workers         []int32
	messages, stacks, managers           []string
	received, dispatched, started, ended []int64
}

func newResultArrays(results []*funcx.Result) *resultArrays {
	n := len(results)
	a := &resultArrays{
		ids: make([][16]byte, n), states: make([]int16, n), kinds: make([]int16, n),
		outputs: make([][]byte, n), stdouts: make([][]byte, n), stderrs: make([][]byte, n),
		truncated: make([]bool, n), hasError: make([]bool, n),
		exitCodes: make([]int32, n), attempts: make([]int32, n), workers: make([]int32, n),
		messages: make([]string, n), stacks: make([]string, n), managers: make([]string, n),
		received: make([]int64, n), dispatched: make([]int64, n), started: make([]int64, n), ended: make([]int64, n),
	}
	for i, r := range results {
		var e funcx.TaskError
		if r.Error != nil {
			e = *r.Error
		}
		a.ids[i], a.states[i], a.kinds[i] = r.TaskID, int16(r.State), int16(e.Kind)
		a.outputs[i], a.stdouts[i], a.stderrs[i] = r.Output, r.Stdout, r.Stderr
		a.truncated[i], a.hasError[i] = r.Truncated, r.Error != nil
		a.exitCodes[i], a.attempts[i], a.workers[i] = int32(r.ExitCode), int32(r.Attempt), int32(r.Worker)
		a.messages[i], a.stacks[i], a.managers[i] = e.Message, e.Stack, r.Manager
		a.received[i], a.dispatched[i] = nanos(r.Times.Received), nanos(r.Times.Dispatched)
		a.started[i], a.ended[i] = nanos(r.Times.Started), nanos(r.Times.Finished)
	}
	return a
}

// qInsertResults inserts a batch from arrays. nextval is evaluated after
// the ORDER BY (PostgreSQL projects volatile expressions after sorting),
// so seqs follow the order of the results.
const qInsertResults = `INSERT INTO results (seq, task_rid, task_id, owner, endpoint_id, state, output, stdout, stderr,
	truncated, exit_code, has_error, error_kind, error_message, error_stack, attempt, manager, worker,
	received_at, dispatched_at, started_at, finished_at, submitted_at, stored_at)
	SELECT nextval('result_seq'), t.rid, t.id, t.owner, t.endpoint_id, v.state, v.output, v.stdout, v.stderr,
		v.truncated, v.exit_code, v.has_error, v.error_kind, v.error_message, v.error_stack, v.attempt, v.manager, v.worker,
		v.received_at, v.dispatched_at, v.started_at, v.finished_at, t.submitted_at, $1
	FROM unnest($3::uuid[], $4::smallint[], $5::bytea[], $6::bytea[], $7::bytea[], $8::boolean[], $9::integer[], $10::boolean[],
		$11::smallint[], $12::text[], $13::text[], $14::integer[], $15::text[], $16::integer[],
		$17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[])
		WITH ORDINALITY AS v(task_id, state, output, stdout, stderr, truncated, exit_code, has_error,
			error_kind, error_message, error_stack, attempt, manager, worker,
			received_at, dispatched_at, started_at, finished_at, ord)
	JOIN tasks t ON t.id = v.task_id
	WHERE t.endpoint_id = $2 AND t.incarnation = (SELECT e.incarnation FROM endpoints e WHERE e.id = $2)
		AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid)
	ORDER BY v.ord
	ON CONFLICT (task_rid) DO NOTHING
	RETURNING seq, task_id, owner, submitted_at`

// insertResults inserts results (terminal, one per task) and adds each
// to out, in their order.
func insertResults(ctx context.Context, tx pgx.Tx, endpointID string, results []*funcx.Result, stored time.Time, out *service.StoredResults) error {
	a := newResultArrays(results)
	rows, _ := tx.Query(ctx, qInsertResults, nanos(stored), endpointID,
		a.ids, a.states, a.outputs, a.stdouts, a.stderrs, a.truncated, a.exitCodes, a.hasError,
		a.kinds, a.messages, a.stacks, a.attempts, a.managers, a.workers,
		a.received, a.dispatched, a.started, a.ended)
	type row struct {
		seq       int64
		owner     string
		submitted int64
	}
	inserted := make(map[funcx.TaskID]row, len(results))
	var id [16]byte
	var rw row
	if _, err := pgx.ForEachRow(rows, []any{&rw.seq, &id, &rw.owner, &rw.submitted}, func() error {
		inserted[id] = rw
		return nil
	}); err != nil {
		return fmt.Errorf("insert %d results: %w", len(results), err)
	}
	var missed [][16]byte
	for _, r := range results {
		rw, ok := inserted[r.TaskID]
		if !ok {
			missed = append(missed, r.TaskID)
			continue
		}
		out.Stored = append(out.Stored, service.ResultRecord{
			Seq: rw.seq, Owner: rw.owner, EndpointID: endpointID,
			Submitted: fromNanos(rw.submitted), Stored: stored, Result: *r,
		})
	}
	if len(missed) > 0 {
		return countNotInserted(ctx, tx, endpointID, missed, out)
	}
	return nil
}

// countNotInserted counts results that were not inserted: unknown (no
// such task), foreign (a task routed to another endpoint), duplicate (its
// task has a result) or stale (its task was routed to another
// registration of the endpoint, or the endpoint is deleted).
func countNotInserted(ctx context.Context, tx pgx.Tx, endpointID string, ids [][16]byte, out *service.StoredResults) error {
	rows, _ := tx.Query(ctx, `SELECT t.endpoint_id, t.incarnation, EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid),
		COALESCE((SELECT e.incarnation FROM endpoints e WHERE e.id = $1), -1)
		FROM unnest($2::uuid[]) AS q(id) LEFT JOIN tasks t ON t.id = q.id`, endpointID, ids)
	var ep *string
	var routed, current *int64
	var done *bool
	_, err := pgx.ForEachRow(rows, []any{&ep, &routed, &done, &current}, func() error {
		switch {
		case ep == nil:
			out.Unknown++
		case *ep != endpointID:
			out.Foreign++ // an endpoint may report only its own tasks
		case *done:
			out.Duplicates++
		default:
			out.Stale++ // routed != current
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %d tasks whose results were not stored: %w", len(ids), err)
	}
	return nil
}

// Results returns owner's results with seq > after, in seq order.
func (s *Store) Results(ctx context.Context, owner string, after int64, limit int) ([]service.ResultRecord, error) {
	rows, _ := s.pool.Query(ctx, `SELECT r.seq, r.task_id, `+resultColumns+` FROM results r
		WHERE r.owner = $1 AND r.seq > $2 ORDER BY r.seq LIMIT $3`, owner, after, limit)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (service.ResultRecord, error) {
		var seq int64
		var id [16]byte
		var rr resultRow
		if err := row.Scan(append([]any{&seq, &id}, rr.dest()...)...); err != nil {
			return service.ResultRecord{}, err
		}
		return rr.record(seq, id), nil
	})
}

// resultColumns are the results columns that resultRow scans, for r.
const resultColumns = `r.owner, r.endpoint_id, r.state, r.output, r.stdout, r.stderr, r.truncated, r.exit_code,
	r.has_error, r.error_kind, r.error_message, r.error_stack, r.attempt, r.manager, r.worker,
	r.received_at, r.dispatched_at, r.started_at, r.finished_at, r.submitted_at, r.stored_at`

// resultRow scans resultColumns; pointers take NULL, because Tasks reads
// them through a LEFT JOIN.
type resultRow struct {
	owner, endpoint, errMsg, errStack, manager                 *string
	state, errKind                                             *int16
	exitCode, attempt, worker                                  *int32
	received, dispatched, started, finished, submitted, stored *int64
	truncated, hasError                                        *bool
	output, stdout, stderr                                     []byte
}

func (rr *resultRow) dest() []any {
	return []any{&rr.owner, &rr.endpoint, &rr.state, &rr.output, &rr.stdout, &rr.stderr, &rr.truncated, &rr.exitCode,
		&rr.hasError, &rr.errKind, &rr.errMsg, &rr.errStack, &rr.attempt, &rr.manager, &rr.worker,
		&rr.received, &rr.dispatched, &rr.started, &rr.finished, &rr.submitted, &rr.stored}
}

// val is *p, or the zero value for NULL.
func val[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func (rr *resultRow) record(seq int64, id funcx.TaskID) service.ResultRecord {
	r := funcx.Result{
		TaskID:    id,
		State:     funcx.TaskState(val(rr.state)),
		Output:    rr.output,
		Stdout:    rr.stdout,
		Stderr:    rr.stderr,
		Truncated: val(rr.truncated),
		ExitCode:  int(val(rr.exitCode)),
		Attempt:   int(val(rr.attempt)),
		Manager:   val(rr.manager),
		Worker:    int(val(rr.worker)),
		Times: funcx.Timings{
			Received:   fromNanos(val(rr.received)),
			Dispatched: fromNanos(val(rr.dispatched)),
			Started:    fromNanos(val(rr.started)),
			Finished:   fromNanos(val(rr.finished)),
		},
	}
	if val(rr.hasError) {
		r.Error = &funcx.TaskError{Kind: funcx.ErrorKind(val(rr.errKind)), Message: val(rr.errMsg), Stack: val(rr.errStack)}
	}
	return service.ResultRecord{
		Seq: seq, Owner: val(rr.owner), EndpointID: val(rr.endpoint),
		Submitted: fromNanos(val(rr.submitted)), Stored: fromNanos(val(rr.stored)), Result: r,
	}
}
