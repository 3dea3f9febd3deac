package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
)

// DeleteExpiredResults deletes up to limit of the oldest results stored
// before the given time, with their tasks; see service.Store.
//
// It walks results by seq (the primary key) and stops at the first one
// not yet expired, so no index on stored_at is needed (which every
// result write would pay for): results are stored in seq order, and
// their stored times follow it.
func (s *Store) DeleteExpiredResults(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT seq, stored_at FROM results ORDER BY seq LIMIT ?`, limit)
		if err != nil {
			return err
		}
		var upto int64
		n = 0
		for rows.Next() {
			var seq, stored int64
			if err := rows.Scan(&seq, &stored); err != nil {
				rows.Close()
				return err
			}
			if stored >= before.UnixNano() {
				break
			}
			upto = seq
			n++
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		return deleteFinished(ctx, tx, `SELECT task_rid FROM results WHERE seq <= ?`, upto)
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired results: %w", err)
	}
	return n, nil
}

// DeleteResults deletes owner's results of the tasks, with the tasks;
// see service.Store.
func (s *Store) DeleteResults(ctx context.Context, owner string, ids []funcx.TaskID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The owner's tasks among ids that have a result, into a
		// temporary table the deletions join.
		if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS fetched (rid INTEGER PRIMARY KEY)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM temp.fetched`); err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO temp.fetched (rid)
			SELECT t.rid FROM tasks t JOIN results r ON r.task_rid = t.rid WHERE t.id = ? AND t.owner = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		rowCtx := rowContext(ctx)
		n = 0
		for _, id := range ids {
			res, err := st.ExecContext(rowCtx, id[:], owner)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		if n == 0 {
			return nil
		}
		return deleteFinished(ctx, tx, `SELECT rid FROM temp.fetched`)
	})
	if err != nil {
		return 0, fmt.Errorf("delete fetched results: %w", err)
	}
	return n, nil
}

// deleteFinished deletes the tasks whose rids the query selects (their
// results go with them: ON DELETE CASCADE), and then those of their
// submissions left without a task.
func deleteFinished(ctx context.Context, tx *sql.Tx, rids string, args ...any) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT submission FROM tasks WHERE rid IN (`+rids+`)`, args...)
	if err != nil {
		return err
	}
	var subs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		subs = append(subs, id)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tasks WHERE rid IN (`+rids+`)`, args...); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `DELETE FROM submissions WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM tasks WHERE submission = ?1)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range subs {
		if _, err := st.ExecContext(rowContext(ctx), id); err != nil {
			return err
		}
	}
	return nil
}
