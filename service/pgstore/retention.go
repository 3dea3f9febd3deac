package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcx-go/funcx"
)

// DeleteExpiredResults deletes up to limit of the oldest results stored
// before the given time, with their tasks; see service.Store.
//
// It walks results by seq (the primary key) and stops at the first one
// not yet expired, so no index on stored_at is needed (which every
// result write would pay for). It does not take the results lock: it
// deletes only results that exist, below every seq a writer may still
// commit, and a writer that looks up a task being deleted sees its
// result (a duplicate) or no task (unknown), never a task without one.
// One replica deletes at a time (a try-lock); the others find nothing
// to do.
func (s *Store) DeleteExpiredResults(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, s.retentionLock).Scan(&mine); err != nil || !mine {
			return err
		}
		// The last seq before the first unexpired result among the
		// first limit ones.
		var upto int64
		err := tx.QueryRow(ctx, `WITH head AS (SELECT seq, stored_at FROM results ORDER BY seq LIMIT $2)
			SELECT COALESCE(max(seq), 0) FROM head
			WHERE seq < COALESCE((SELECT min(seq) FROM head WHERE stored_at >= $1), 9223372036854775807)`,
			before.UnixNano(), limit).Scan(&upto)
		if err != nil || upto == 0 {
			return err
		}
		n, err = deleteFinished(ctx, tx, `SELECT task_rid AS rid FROM results WHERE seq <= $1`, upto)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired results: %w", err)
	}
	return n, err
}

// DeleteResults deletes owner's results of the tasks, with the tasks;
// see service.Store.
func (s *Store) DeleteResults(ctx context.Context, owner string, ids []funcx.TaskID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	keys := make([][16]byte, len(ids))
	for i, id := range ids {
		keys[i] = id
	}
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		n, err = deleteFinished(ctx, tx, `SELECT t.rid FROM tasks t JOIN results r ON r.task_rid = t.rid
			WHERE t.id = ANY($1::uuid[]) AND t.owner = $2`, keys, owner)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete fetched results: %w", err)
	}
	return n, nil
}

// deleteFinished deletes the results of the tasks whose rids the query
// selects, the tasks, and then those of their submissions left without
// a task; it returns how many results it deleted.
func deleteFinished(ctx context.Context, tx pgx.Tx, rids string, args ...any) (int, error) {
	var n int
	var subs []int64
	err := tx.QueryRow(ctx, `WITH f AS (`+rids+`),
		r AS (DELETE FROM results WHERE task_rid IN (SELECT rid FROM f) RETURNING task_rid),
		t AS (DELETE FROM tasks WHERE rid IN (SELECT task_rid FROM r) RETURNING submission)
		SELECT (SELECT count(*) FROM r), ARRAY(SELECT DISTINCT submission FROM t)`, args...).Scan(&n, &subs)
	if err != nil || len(subs) == 0 {
		return n, err
	}
	// A statement of its own: it must see the tasks deleted above gone.
	_, err = tx.Exec(ctx, `DELETE FROM submissions s WHERE s.id = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.submission = s.id)`, subs)
	return n, err
}
