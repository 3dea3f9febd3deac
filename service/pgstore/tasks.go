package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// AddTasks stores the tasks as one submission; see service.Store.
//
// The tasks go in as one multi-row INSERT of arrays (unnest), whatever
// their number; ON CONFLICT leaves the IDs stored before, which one more
// query then reads back to readd.
func (s *Store) AddTasks(ctx context.Context, tasks []service.TaskRecord) (service.Submission, error) {
	var out service.Submission
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = service.Submission{Tasks: make([]service.AddedTask, len(tasks))}
		var submitted time.Time
		if len(tasks) > 0 {
			submitted = tasks[0].Submitted
		}
		if err := tx.QueryRow(ctx, `INSERT INTO submissions (published, submitted_at) VALUES (0, $1) RETURNING id`, nanos(submitted)).Scan(&out.ID); err != nil {
			return err
		}
		incs, err := incarnations(ctx, tx, tasks)
		if err != nil {
			return err
		}
		inserted, err := insertTasks(ctx, tx, tasks, incs, out.ID)
		if err != nil {
			return err
		}
		var again []int // indexes of tasks stored before (or twice in this call)
		for i := range tasks {
			// Taken once: a task ID given twice in one call is inserted
			// once and readded the second time, as if it came later.
			if _, ok := inserted[tasks[i].ID]; ok {
				delete(inserted, tasks[i].ID)
				out.Tasks[i] = service.AddedTask{Publish: true, State: funcx.StateWaitingForEndpoint}
				continue
			}
			again = append(again, i)
		}
		if err := readdTasks(ctx, tx, tasks, again, out.ID, out.Tasks); err != nil {
			return err
		}
		for _, a := range out.Tasks {
			if a.Publish {
				return nil
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM submissions WHERE id = $1`, out.ID)
		out.ID = 0
		return err
	})
	if err != nil {
		return service.Submission{}, err
	}
	return out, nil
}

// incarnations returns the current incarnation of each endpoint of the
// tasks, read in the submission's transaction and held (FOR KEY SHARE)
// until it commits: a task is stamped with the registration it is routed
// to, none is stored for an endpoint deleted since the service looked it
// up (or not its owner's), and a deletion waits for the submission, then
// fails its tasks.
func incarnations(ctx context.Context, tx pgx.Tx, tasks []service.TaskRecord) (map[string]int64, error) {
	incs := make(map[string]int64, 1)
	for i := range tasks {
		t := &tasks[i]
		if _, ok := incs[t.EndpointID]; ok {
			continue
		}
		var inc int64
		err := tx.QueryRow(ctx, `SELECT incarnation FROM endpoints WHERE id = $1 AND owner = $2 FOR KEY SHARE`, t.EndpointID, t.Owner).Scan(&inc)
		if errors.Is(err, pgx.ErrNoRows) {
			gone, terr := tombstoned(ctx, tx, t.EndpointID)
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
// each stamped with its endpoint's incarnation, and returns the IDs it
// inserted.
func insertTasks(ctx context.Context, tx pgx.Tx, tasks []service.TaskRecord, incs map[string]int64, submission int64) (map[funcx.TaskID]struct{}, error) {
	n := len(tasks)
	ids, owners, eps, fns := make([][16]byte, n), make([]string, n), make([]string, n), make([]string, n)
	subs, inc := make([]int64, n), make([]int64, n)
	for i := range tasks {
		t := &tasks[i]
		ids[i], owners[i], eps[i], fns[i] = t.ID, t.Owner, t.EndpointID, t.FunctionID
		subs[i], inc[i] = nanos(t.Submitted), incs[t.EndpointID]
	}
	// rids are taken in the order of the tasks (the inner ORDER BY; OFFSET
	// 0 keeps the subquery apart), rows are inserted in the order of
	// their IDs: two submissions of overlapping task IDs then wait for
	// each other's unique index entries in one order, never in a cycle
	// (a deadlock).
	rows, _ := tx.Query(ctx, `INSERT INTO tasks (rid, id, owner, endpoint_id, function_id, state, submission, submitted_at, incarnation)
		SELECT x.rid, x.id, x.owner, x.endpoint_id, x.function_id, $7, $8, x.submitted_at, x.incarnation
		FROM (SELECT nextval('tasks_rid_seq') AS rid, u.*
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
				WITH ORDINALITY AS u(id, owner, endpoint_id, function_id, submitted_at, incarnation, ord)
			ORDER BY u.ord OFFSET 0) x
		ORDER BY x.id
		ON CONFLICT (id) DO NOTHING RETURNING id`,
		ids, owners, eps, fns, subs, inc, int16(funcx.StateWaitingForEndpoint), submission)
	got, err := pgx.CollectRows(rows, pgx.RowTo[[16]byte])
	if err != nil {
		return nil, fmt.Errorf("insert %d tasks: %w", n, err)
	}
	inserted := make(map[funcx.TaskID]struct{}, len(got))
	for _, id := range got {
		inserted[id] = struct{}{}
	}
	return inserted, nil
}

// readdTasks handles the tasks at indexes again, whose IDs are already
// stored: a conflict unless each is the same task, which moves into the
// submission if it was never published and has no result.
func readdTasks(ctx context.Context, tx pgx.Tx, tasks []service.TaskRecord, again []int, submission int64, out []service.AddedTask) error {
	if len(again) == 0 {
		return nil
	}
	ids := make([][16]byte, len(again))
	for k, i := range again {
		ids[k] = tasks[i].ID
	}
	type stored struct {
		owner, ep, fn string
		state         int16
		published     int16
		result        *int16
	}
	rows, _ := tx.Query(ctx, `SELECT t.id, t.owner, t.endpoint_id, t.function_id, t.state, s.published, r.state
		FROM tasks t JOIN submissions s ON s.id = t.submission LEFT JOIN results r ON r.task_rid = t.rid
		WHERE t.id = ANY($1::uuid[])`, ids)
	byID := make(map[funcx.TaskID]stored, len(again))
	var id [16]byte
	var st stored
	_, err := pgx.ForEachRow(rows, []any{&id, &st.owner, &st.ep, &st.fn, &st.state, &st.published, &st.result}, func() error {
		byID[id] = st
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %d tasks stored before: %w", len(again), err)
	}
	var move [][16]byte
	for _, i := range again {
		t := &tasks[i]
		st, ok := byID[t.ID]
		if !ok {
			// Deleted by DeleteUnpublished since the insert skipped it:
			// the next attempt stores it anew.
			return fmt.Errorf("task %s vanished during its submission: %w", t.ID, errRetry)
		}
		if st.owner != t.Owner || st.ep != t.EndpointID || st.fn != t.FunctionID {
			return &service.TaskConflictError{ID: t.ID}
		}
		a := service.AddedTask{Existing: true, State: funcx.TaskState(st.state)}
		switch {
		case st.result != nil:
			a.State = funcx.TaskState(*st.result)
		case st.published == 0:
			a.Publish = true
			move = append(move, t.ID)
		}
		out[i] = a
	}
	if len(move) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE tasks SET submission = $1 WHERE id = ANY($2::uuid[]) AND submission <> $1`, submission, move); err != nil {
			return fmt.Errorf("move %d tasks: %w", len(move), err)
		}
	}
	return nil
}

// MarkPublished records that the broker confirmed a submission.
func (s *Store) MarkPublished(ctx context.Context, submission int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE submissions SET published = 1 WHERE id = $1`, submission)
	return err
}

// DeleteUnpublished deletes those of the tasks still in the submission if
// it was never published. It takes the results lock, so that a result
// stored meanwhile keeps its task.
func (s *Store) DeleteUnpublished(ctx context.Context, submission int64, ids []funcx.TaskID) error {
	keys := make([][16]byte, len(ids))
	for i, id := range ids {
		keys[i] = id
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lockResults(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM tasks WHERE id = ANY($1::uuid[]) AND submission = $2
			AND submission IN (SELECT id FROM submissions WHERE published = 0)
			AND NOT EXISTS (SELECT 1 FROM results WHERE task_rid = tasks.rid)`, keys, submission)
		return err
	})
}

// Unpublished lists tasks without a result in old unpublished
// submissions, closing those with none left; see service.Store.
func (s *Store) Unpublished(ctx context.Context, before time.Time, limit int) ([]service.TaskRecord, error) {
	var out []service.TaskRecord
	err := s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE submissions SET published = 2 WHERE published = 0 AND submitted_at < $1
			AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.submission = submissions.id
				AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid))`, before.UnixNano())
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT t.id, t.owner, t.endpoint_id, t.function_id, t.state, t.submitted_at
			FROM submissions s JOIN tasks t ON t.submission = s.id
			WHERE s.published = 0 AND s.submitted_at < $1 AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid)
			ORDER BY s.submitted_at, t.rid LIMIT $2`, before.UnixNano(), limit)
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (service.TaskRecord, error) {
			var t service.TaskRecord
			var id [16]byte
			var state int16
			var sub int64
			err := row.Scan(&id, &t.Owner, &t.EndpointID, &t.FunctionID, &state, &sub)
			t.ID, t.State, t.Submitted = id, funcx.TaskState(state), fromNanos(sub)
			return t, err
		})
		return err
	})
	return out, err
}

// Tasks returns owner's tasks among ids, each with its result if any, in
// one statement: one consistent snapshot.
func (s *Store) Tasks(ctx context.Context, owner string, ids []funcx.TaskID) ([]service.TaskRecord, error) {
	keys := make([][16]byte, len(ids))
	for i, id := range ids {
		keys[i] = id
	}
	rows, _ := s.pool.Query(ctx, `SELECT t.id, t.endpoint_id, t.function_id, t.state, t.submitted_at, r.seq, `+resultColumns+`
		FROM tasks t LEFT JOIN results r ON r.task_rid = t.rid WHERE t.id = ANY($1::uuid[]) AND t.owner = $2`, keys, owner)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (service.TaskRecord, error) {
		t := service.TaskRecord{Owner: owner}
		var id [16]byte
		var state int16
		var sub int64
		var seq *int64
		var rr resultRow
		if err := row.Scan(append([]any{&id, &t.EndpointID, &t.FunctionID, &state, &sub, &seq}, rr.dest()...)...); err != nil {
			return t, err
		}
		t.ID, t.State, t.Submitted = id, funcx.TaskState(state), fromNanos(sub)
		if seq != nil {
			rec := rr.record(*seq, t.ID)
			t.Result = &rec
			t.State = rec.Result.State
		}
		return t, nil
	})
}
