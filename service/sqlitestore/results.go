package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// StoreResults stores an endpoint's results in one transaction; see
// service.Store.
//
// One statement per result does it all: it copies the owner and
// submission time from the task, requires that the task was sent to this
// endpoint, and leaves an existing result alone (UNIQUE task_rid), so the
// first terminal result wins. Only when nothing was inserted does a second
// query tell a duplicate from an unknown task.
func (s *Store) StoreResults(ctx context.Context, endpointID string, results []funcx.Result, stored time.Time) (service.StoredResults, error) {
	var out service.StoredResults
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = service.StoredResults{Stored: make([]service.ResultRecord, 0, len(results))}
		ins, err := s.ws.inTx(ctx, tx, qInsertResult)
		if err != nil {
			return err
		}
		defer ins.Close()
		rowCtx := rowContext(ctx)
		for i := range results {
			r := &results[i]
			if !r.State.Terminal() {
				out.NotTerminal++
				continue
			}
			var e funcx.TaskError
			if r.Error != nil {
				e = *r.Error
			}
			rec := service.ResultRecord{EndpointID: endpointID, Stored: stored, Result: *r}
			var sub int64
			err := ins.QueryRowContext(rowCtx, int(r.State), r.Output, r.Stdout, r.Stderr,
				r.Truncated, r.ExitCode, r.Error != nil, int(e.Kind), e.Message, e.Stack, r.Attempt, r.Manager, r.Worker,
				nanos(r.Times.Received), nanos(r.Times.Dispatched), nanos(r.Times.Started), nanos(r.Times.Finished), nanos(stored),
				r.TaskID[:], endpointID).Scan(&rec.Seq, &rec.Owner, &sub)
			if err == sql.ErrNoRows {
				var known bool
				if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tasks WHERE id = ? AND endpoint_id = ?)`,
					r.TaskID[:], endpointID).Scan(&known); err != nil {
					return fmt.Errorf("read task %s: %w", r.TaskID, err)
				}
				if known {
					out.Duplicates++
				} else {
					out.Unknown++ // an endpoint may report only its own tasks
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("insert result of task %s: %w", r.TaskID, err)
			}
			rec.Submitted = fromNanos(sub)
			out.Stored = append(out.Stored, rec)
		}
		return nil
	})
	return out, err
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
