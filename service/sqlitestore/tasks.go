package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// AddTasks stores the tasks as one submission; see service.Store.
func (s *Store) AddTasks(ctx context.Context, tasks []service.TaskRecord) (service.Submission, error) {
	out := service.Submission{Tasks: make([]service.AddedTask, len(tasks))}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var submitted time.Time
		if len(tasks) > 0 {
			submitted = tasks[0].Submitted
		}
		ins, err := s.ws.inTx(ctx, tx, qInsertSubmission)
		if err != nil {
			return err
		}
		res, err := ins.ExecContext(rowContext(ctx), nanos(submitted))
		ins.Close()
		if err != nil {
			return err
		}
		if out.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		incs, err := s.incarnations(ctx, tx, tasks)
		if err != nil {
			return err
		}
		inserted, err := s.insertTasks(ctx, tx, tasks, incs, out.ID)
		if err != nil {
			return err
		}
		inSubmission := 0
		for i := range tasks {
			t := &tasks[i]
			// Taken once: a task ID given twice in one call is inserted
			// once and readded the second time, as if it came later.
			if _, ok := inserted[t.ID]; ok {
				delete(inserted, t.ID)
				out.Tasks[i] = service.AddedTask{Publish: true, State: funcx.StateWaitingForEndpoint}
				inSubmission++
				continue
			}
			a, err := s.readdTask(ctx, tx, t, out.ID)
			if err != nil {
				return err
			}
			if a.Publish {
				inSubmission++
			}
			out.Tasks[i] = a
		}
		if inSubmission == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM submissions WHERE id = ?`, out.ID)
			out.ID = 0
			return err
		}
		return nil
	})
	if err != nil {
		return service.Submission{}, err
	}
	return out, nil
}

// incarnations returns the current incarnation of each endpoint of the
// tasks, read in the submission's transaction: a task is stamped with
// the registration it is routed to, and none is stored for an endpoint
// deleted since the service looked it up (or not its owner's).
func (s *Store) incarnations(ctx context.Context, tx *sql.Tx, tasks []service.TaskRecord) (map[string]int64, error) {
	incs := make(map[string]int64, 1)
	var read *sql.Stmt
	for i := range tasks {
		t := &tasks[i]
		if _, ok := incs[t.EndpointID]; ok {
			continue
		}
		if read == nil {
			var err error
			if read, err = s.ws.inTx(ctx, tx, qEndpointIncarnation); err != nil {
				return nil, err
			}
			defer read.Close()
		}
		var inc int64
		err := read.QueryRowContext(rowContext(ctx), t.EndpointID, t.Owner).Scan(&inc)
		if err == sql.ErrNoRows {
			gone, terr := tombstoned(rowContext(ctx), tx, t.EndpointID)
			if terr != nil {
				return nil, fmt.Errorf("read endpoint %s: %w", t.EndpointID, terr)
			}
			if gone {
				return nil, fmt.Errorf("endpoint %s: %w", t.EndpointID, service.ErrDeleted)
			}
			return nil, fmt.Errorf("endpoint %s of owner %s: %w", t.EndpointID, t.Owner, service.ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("read endpoint %s: %w", t.EndpointID, err)
		}
		incs[t.EndpointID] = inc
	}
	return incs, nil
}

// insertTasks inserts the tasks whose IDs are not stored yet, in order,
// each stamped with its endpoint's incarnation, in multi-row statements
// (a prepared size that is a power of two at a time, like
// insertResults), and returns the IDs it inserted.
func (s *Store) insertTasks(ctx context.Context, tx *sql.Tx, tasks []service.TaskRecord, incs map[string]int64, submission int64) (map[funcx.TaskID]struct{}, error) {
	inserted := make(map[funcx.TaskID]struct{}, len(tasks))
	args := make([]any, 0, taskParams*min(len(tasks), maxTasksPerInsert))
	for len(tasks) > 0 {
		n := maxTasksPerInsert
		for n > len(tasks) {
			n /= 2
		}
		args = args[:0]
		for i := range tasks[:n] {
			t := &tasks[i]
			args = append(args, t.ID[:], t.Owner, t.EndpointID, t.FunctionID, int(funcx.StateWaitingForEndpoint), submission, nanos(t.Submitted), incs[t.EndpointID])
		}
		st, err := s.ws.inTx(ctx, tx, qInsertTasks[bits.TrailingZeros(uint(n))])
		if err != nil {
			return nil, err
		}
		err = func() error {
			defer st.Close()
			rows, err := st.QueryContext(rowContext(ctx), args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id []byte
				if err := rows.Scan(&id); err != nil {
					return err
				}
				var tid funcx.TaskID
				copy(tid[:], id)
				inserted[tid] = struct{}{}
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("insert %d tasks: %w", n, err)
		}
		tasks = tasks[n:]
	}
	return inserted, nil
}

// readdTask handles a task whose ID is already stored: a conflict unless
// it is the same task, which moves into the submission if it was never
// published and has no result.
func (s *Store) readdTask(ctx context.Context, tx *sql.Tx, t *service.TaskRecord, submission int64) (service.AddedTask, error) {
	var owner, ep, fn string
	var published int
	var result sql.NullInt64
	a := service.AddedTask{Existing: true}
	err := tx.QueryRowContext(ctx, `SELECT t.owner, t.endpoint_id, t.function_id, t.state, s.published, r.state
		FROM tasks t JOIN submissions s ON s.id = t.submission LEFT JOIN results r ON r.task_rid = t.rid
		WHERE t.id = ?`, t.ID[:]).Scan(&owner, &ep, &fn, &a.State, &published, &result)
	if err != nil {
		return a, fmt.Errorf("read task %s: %w", t.ID, err)
	}
	if owner != t.Owner || ep != t.EndpointID || fn != t.FunctionID {
		return a, &service.TaskConflictError{ID: t.ID}
	}
	if result.Valid {
		a.State = funcx.TaskState(result.Int64)
		return a, nil
	}
	if published == 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET submission = ? WHERE id = ?`, submission, t.ID[:]); err != nil {
			return a, fmt.Errorf("move task %s: %w", t.ID, err)
		}
		a.Publish = true
	}
	return a, nil
}

// MarkPublished records that the broker confirmed a submission.
func (s *Store) MarkPublished(ctx context.Context, submission int64) error {
	_, err := s.ws.exec(ctx, qMarkPublished, submission)
	return err
}

// DeleteUnpublished deletes those of the tasks still in the submission if
// it was never published.
func (s *Store) DeleteUnpublished(ctx context.Context, submission int64, ids []funcx.TaskID) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `DELETE FROM tasks WHERE id = ? AND submission = ?
			AND submission IN (SELECT id FROM submissions WHERE published = 0)
			AND NOT EXISTS (SELECT 1 FROM results WHERE task_rid = tasks.rid)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, id[:], submission); err != nil {
				return err
			}
		}
		return nil
	})
}

// Unpublished lists tasks without a result in old unpublished
// submissions, closing those with none left; see service.Store.
func (s *Store) Unpublished(ctx context.Context, before time.Time, limit int) ([]service.TaskRecord, error) {
	var out []service.TaskRecord
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE submissions SET published = 2 WHERE published = 0 AND submitted_at < ?
			AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.submission = submissions.id
				AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid))`, before.UnixNano())
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT t.id, t.owner, t.endpoint_id, t.function_id, t.state, t.submitted_at
			FROM submissions s JOIN tasks t ON t.submission = s.id
			WHERE s.published = 0 AND s.submitted_at < ? AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid)
			ORDER BY s.submitted_at LIMIT ?`, before.UnixNano(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t service.TaskRecord
			var id []byte
			var sub int64
			if err := rows.Scan(&id, &t.Owner, &t.EndpointID, &t.FunctionID, &t.State, &sub); err != nil {
				return err
			}
			copy(t.ID[:], id)
			t.Submitted = fromNanos(sub)
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// Tasks returns owner's tasks among ids, each with its result if any.
func (s *Store) Tasks(ctx context.Context, owner string, ids []funcx.TaskID) ([]service.TaskRecord, error) {
	var out []service.TaskRecord
	err := func() error {
		// One read transaction: a consistent snapshot, and one connection
		// for the prepared statement.
		tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: s.r != s.w})
		if err != nil {
			return err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(ctx, `SELECT t.endpoint_id, t.function_id, t.state, t.submitted_at, r.seq, `+
			resultColumns+` FROM tasks t LEFT JOIN results r ON r.task_rid = t.rid WHERE t.id = ? AND t.owner = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		rowCtx := rowContext(ctx)
		for _, id := range ids {
			t := service.TaskRecord{ID: id, Owner: owner}
			var sub int64
			var seq sql.NullInt64
			var rr resultRow
			err := st.QueryRowContext(rowCtx, id[:], owner).Scan(append([]any{&t.EndpointID, &t.FunctionID, &t.State, &sub, &seq}, rr.dest()...)...)
			if err == sql.ErrNoRows {
				continue
			}
			if err != nil {
				return fmt.Errorf("read task %s: %w", id, err)
			}
			t.Submitted = fromNanos(sub)
			if seq.Valid {
				rec := rr.record(seq.Int64, id)
				t.Result = &rec
				t.State = rec.Result.State
			}
			out = append(out, t)
		}
		return nil
	}()
	return out, err
}
