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
// Under the results lock, one query looks the batch's tasks up by ID
// (with whether each has a result, and the endpoint's current
// incarnation), and one statement inserts, from arrays, the results of
// those routed to this endpoint's current registration that have none:
// the first terminal result wins, and no other writer adds one
// meanwhile. Seqs are taken in the order of the results.
//
// The lookup joins LATERAL subqueries with LIMIT, which PostgreSQL
// cannot flatten: each result is one probe of a unique index whatever
// the tables' statistics say. Plain joins (and one INSERT ... SELECT
// joining the tasks) let the planner scan every task of the table, or
// of the endpoint, for each batch while autovacuum had not yet analyzed
// a growing table: 10 to 70 ms per batch at 30,000 tasks.
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
		accepted, err := acceptResults(ctx, tx, endpointID, terminal, &out)
		if err != nil || len(accepted) == 0 {
			return err
		}
		if err := insertResults(ctx, tx, endpointID, accepted, stored, &out); err != nil {
			return err
		}
		return s.notify(ctx, tx, resultsChange(out.Stored))
	})
	return out, err
}

// accepted is a result to store, with what its task gives it.
type accepted struct {
	r         *funcx.Result
	rid       int64
	owner     string
	submitted int64
}

// acceptResults looks up the results' tasks and returns, in order, the
// results to store: those of tasks routed to this endpoint's current
// registration that have no result. It counts the others into out:
// unknown (no such task), foreign (a task routed to another endpoint),
// duplicate (its task has a result) or stale (its task was routed to
// another registration of the endpoint, or the endpoint is deleted).
func acceptResults(ctx context.Context, tx pgx.Tx, endpointID string, results []*funcx.Result, out *service.StoredResults) ([]accepted, error) {
	ids := make([][16]byte, len(results))
	for i, r := range results {
		ids[i] = r.TaskID
	}
	rows, _ := tx.Query(ctx, `SELECT v.ord, t.rid, t.owner, t.endpoint_id, t.incarnation, t.submitted_at, r.seq IS NOT NULL,
			COALESCE((SELECT e.incarnation FROM endpoints e WHERE e.id = $1), -1)
		FROM unnest($2::uuid[]) WITH ORDINALITY AS v(id, ord)
		LEFT JOIN LATERAL (SELECT * FROM tasks WHERE id = v.id LIMIT 1) t ON true
		LEFT JOIN LATERAL (SELECT seq FROM results WHERE task_rid = t.rid LIMIT 1) r ON true`, endpointID, ids)
	var ord int64
	var rid, routed, submitted *int64
	var owner, ep *string
	var done bool
	var current int64
	found := make([]*accepted, len(results))
	_, err := pgx.ForEachRow(rows, []any{&ord, &rid, &owner, &ep, &routed, &submitted, &done, &current}, func() error {
		i := int(ord - 1)
		switch {
		case rid == nil:
			out.Unknown++
		case *ep != endpointID:
			out.Foreign++ // an endpoint may report only its own tasks
		case done:
			out.Duplicates++
		case *routed != current:
			out.Stale++
		default:
			found[i] = &accepted{r: results[i], rid: *rid, owner: *owner, submitted: *submitted}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up the tasks of %d results: %w", len(results), err)
	}
	var acc []accepted
	for _, a := range found {
		if a != nil {
			acc = append(acc, *a)
		}
	}
	return acc, nil
}

// resultArrays are the columns of a batch of results, one array each.
type resultArrays struct {
	rids, submitted                      []int64
	ids                                  [][16]byte
	owners                               []string
	states, kinds                        []int16
	outputs, stdouts, stderrs            [][]byte
	truncated, hasError                  []bool
	exitCodes, attempts, workers         []int32
	messages, stacks, managers           []string
	received, dispatched, started, ended []int64
}

func newResultArrays(acc []accepted) *resultArrays {
	n := len(acc)
	a := &resultArrays{
		rids: make([]int64, n), submitted: make([]int64, n), ids: make([][16]byte, n), owners: make([]string, n),
		states: make([]int16, n), kinds: make([]int16, n),
		outputs: make([][]byte, n), stdouts: make([][]byte, n), stderrs: make([][]byte, n),
		truncated: make([]bool, n), hasError: make([]bool, n),
		exitCodes: make([]int32, n), attempts: make([]int32, n), workers: make([]int32, n),
		messages: make([]string, n), stacks: make([]string, n), managers: make([]string, n),
		received: make([]int64, n), dispatched: make([]int64, n), started: make([]int64, n), ended: make([]int64, n),
	}
	for i := range acc {
		r := acc[i].r
		var e funcx.TaskError
		if r.Error != nil {
			e = *r.Error
		}
		a.rids[i], a.submitted[i], a.ids[i], a.owners[i] = acc[i].rid, acc[i].submitted, r.TaskID, acc[i].owner
		a.states[i], a.kinds[i] = int16(r.State), int16(e.Kind)
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
	SELECT nextval('result_seq'), v.task_rid, v.task_id, v.owner, $2, v.state, v.output, v.stdout, v.stderr,
		v.truncated, v.exit_code, v.has_error, v.error_kind, v.error_message, v.error_stack, v.attempt, v.manager, v.worker,
		v.received_at, v.dispatched_at, v.started_at, v.finished_at, v.submitted_at, $1
	FROM unnest($3::bigint[], $4::uuid[], $5::text[], $6::bigint[], $7::smallint[], $8::bytea[], $9::bytea[], $10::bytea[],
		$11::boolean[], $12::integer[], $13::boolean[], $14::smallint[], $15::text[], $16::text[], $17::integer[], $18::text[],
		$19::integer[], $20::bigint[], $21::bigint[], $22::bigint[], $23::bigint[])
		WITH ORDINALITY AS v(task_rid, task_id, owner, submitted_at, state, output, stdout, stderr,
			truncated, exit_code, has_error, error_kind, error_message, error_stack, attempt, manager,
			worker, received_at, dispatched_at, started_at, finished_at, ord)
	ORDER BY v.ord
	ON CONFLICT (task_rid) DO NOTHING
	RETURNING seq, task_rid`

// insertResults inserts the accepted results and adds each to out, in
// their order.
func insertResults(ctx context.Context, tx pgx.Tx, endpointID string, acc []accepted, stored time.Time, out *service.StoredResults) error {
	a := newResultArrays(acc)
	rows, _ := tx.Query(ctx, qInsertResults, nanos(stored), endpointID,
		a.rids, a.ids, a.owners, a.submitted, a.states, a.outputs, a.stdouts, a.stderrs,
		a.truncated, a.exitCodes, a.hasError, a.kinds, a.messages, a.stacks, a.attempts, a.managers,
		a.workers, a.received, a.dispatched, a.started, a.ended)
	seqs := make(map[int64]int64, len(acc)) // task rid -> seq
	var rid, seq int64
	if _, err := pgx.ForEachRow(rows, []any{&seq, &rid}, func() error {
		seqs[rid] = seq
		return nil
	}); err != nil {
		return fmt.Errorf("insert %d results: %w", len(acc), err)
	}
	for _, x := range acc {
		seq, ok := seqs[x.rid]
		if !ok {
			out.Duplicates++ // the results lock makes this impossible
			continue
		}
		out.Stored = append(out.Stored, service.ResultRecord{
			Seq: seq, Owner: x.owner, EndpointID: endpointID,
			Submitted: fromNanos(x.submitted), Stored: stored, Result: *x.r,
		})
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
