package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
)

// querier is what a pool and a transaction share.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// RegisterEndpoint inserts the endpoint with a new incarnation or, if its
// owner registered it before, updates its names, version and
// registration time. A tombstoned ID is service.ErrDeleted.
func (s *Store) RegisterEndpoint(ctx context.Context, e service.Endpoint) (created bool, err error) {
	err = s.tx(ctx, func(tx pgx.Tx) error {
		created = false
		// A registration that lost the race for a new ID to another one
		// looks again: the row is there then.
		for range 3 {
			var owner string
			err := tx.QueryRow(ctx, `SELECT owner FROM endpoints WHERE id = $1 FOR UPDATE`, e.ID).Scan(&owner)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				// A deletion holds the row until it commits, and the
				// tombstone is committed with it: this statement sees it.
				if gone, err := tombstoned(ctx, tx, e.ID); err != nil || gone {
					return cmp.Or(err, service.ErrDeleted)
				}
				tag, err := tx.Exec(ctx, `INSERT INTO endpoints (id, owner, name, display_name, version, registered_at, incarnation)
					VALUES ($1, $2, $3, $4, $5, $6, nextval('endpoint_incarnation')) ON CONFLICT (id) DO NOTHING`,
					e.ID, e.Owner, e.Name, e.DisplayName, e.Version, nanos(e.RegisteredAt))
				if isCode(err, "23503") {
					return fmt.Errorf("identity %s: %w", e.Owner, service.ErrNotFound)
				}
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 1 {
					created = true
					return nil
				}
				continue
			case err != nil:
				return err
			case owner != e.Owner:
				return service.ErrNotOwner
			}
			_, err = tx.Exec(ctx, `UPDATE endpoints SET name = $1, display_name = $2, version = $3, registered_at = $4 WHERE id = $5`,
				e.Name, e.DisplayName, e.Version, nanos(e.RegisteredAt), e.ID)
			return err // the row is locked: it is there
		}
		return fmt.Errorf("register endpoint %s: it keeps appearing and disappearing", e.ID)
	})
	return created, err
}

// tombstoned reports whether the endpoint ID was deleted.
func tombstoned(ctx context.Context, q querier, id string) (bool, error) {
	var gone bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deleted_endpoints WHERE id = $1)`, id).Scan(&gone)
	return gone, err
}

const endpointColumns = `id, owner, name, display_name, version, registered_at,
	hb_time, hb_managers, hb_workers, hb_outstanding, hb_stopping, hb_detail, incarnation`

func scanEndpoint(row pgx.Row) (service.Endpoint, error) {
	var e service.Endpoint
	var reg, hb int64
	var detail string
	err := row.Scan(&e.ID, &e.Owner, &e.Name, &e.DisplayName, &e.Version, &reg,
		&hb, &e.Heartbeat.Managers, &e.Heartbeat.Workers, &e.Heartbeat.Outstanding, &e.Heartbeat.Stopping, &detail, &e.Incarnation)
	e.RegisteredAt, e.Heartbeat.Time = fromNanos(reg), fromNanos(hb)
	if err == nil && detail != "" {
		// Written by RecordHeartbeat from the same type; a row that does
		// not decode is shown without detail rather than failing the read.
		_ = json.Unmarshal([]byte(detail), &e.Heartbeat.Detail)
	}
	return e, err
}

// Endpoint returns one endpoint; service.ErrDeleted if its ID is
// tombstoned.
func (s *Store) Endpoint(ctx context.Context, id string) (service.Endpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		if gone, terr := tombstoned(ctx, s.pool, id); terr != nil || gone {
			return e, cmp.Or(terr, service.ErrDeleted)
		}
	}
	return e, notFound(err)
}

// Endpoints lists owner's endpoints by name.
func (s *Store) Endpoints(ctx context.Context, owner string) ([]service.Endpoint, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE owner = $1 ORDER BY name COLLATE "C", id COLLATE "C"`, owner)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (service.Endpoint, error) { return scanEndpoint(row) })
}

// EndpointIDs lists the IDs of every endpoint.
func (s *Store) EndpointIDs(ctx context.Context) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM endpoints`)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// DeleteEndpoint deletes the endpoint, tombstones its ID and fails its
// tasks without a result with EndpointDeleted, in one transaction; see
// service.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, id string, at time.Time) (service.EndpointDeletion, error) {
	var out service.EndpointDeletion
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = service.EndpointDeletion{}
		// The row lock waits for submissions in flight to the endpoint
		// (they hold it FOR KEY SHARE), whose tasks are then failed
		// below; later ones find the row gone and the tombstone.
		err := tx.QueryRow(ctx, `SELECT owner FROM endpoints WHERE id = $1 FOR UPDATE`, id).Scan(&out.Owner)
		if errors.Is(err, pgx.ErrNoRows) {
			if gone, err := tombstoned(ctx, tx, id); err != nil || gone {
				return cmp.Or(err, service.ErrDeleted)
			}
			return service.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := s.failEndpointTasks(ctx, tx, id, at, &out); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM endpoints WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO deleted_endpoints (id, deleted_at) VALUES ($1, $2)`, id, nanos(at)); err != nil {
			return err
		}
		c := change{Kind: kindDeleted, Endpoint: id, Last: out.LastSeq}
		if out.Failed > 0 {
			c.Owners = []string{out.Owner}
		}
		return s.notify(ctx, tx, c)
	})
	if err != nil {
		return service.EndpointDeletion{}, err
	}
	return out, nil
}

// failEndpointTasks stores an EndpointDeleted failure for each task of
// the endpoint without a result, numbered in task order (under the
// results lock, so consecutively), and counts them into out.
func (s *Store) failEndpointTasks(ctx context.Context, tx pgx.Tx, id string, at time.Time, out *service.EndpointDeletion) error {
	if err := s.lockResults(ctx, tx); err != nil {
		return err
	}
	msg := fmt.Sprintf("endpoint %s was deleted before the task had a result", id)
	err := tx.QueryRow(ctx, `WITH failed AS (
		INSERT INTO results (seq, task_rid, task_id, owner, endpoint_id, state, output, stdout, stderr,
			truncated, exit_code, has_error, error_kind, error_message, error_stack, attempt, manager, worker,
			received_at, dispatched_at, started_at, finished_at, submitted_at, stored_at)
		SELECT nextval('result_seq'), t.rid, t.id, t.owner, t.endpoint_id, $1, NULL, NULL, NULL,
			false, -1, true, $2, $3, '', 0, '', -1, 0, 0, 0, $4, t.submitted_at, $4
		FROM tasks t WHERE t.endpoint_id = $5 AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid)
		ORDER BY t.rid
		RETURNING seq)
		SELECT count(*), COALESCE(min(seq), 0), COALESCE(max(seq), 0) FROM failed`,
		int16(funcx.StateFailed), int16(funcx.EndpointDeleted), msg, nanos(at), id).Scan(&out.Failed, &out.FirstSeq, &out.LastSeq)
	if err != nil {
		return fmt.Errorf("fail the tasks of endpoint %s: %w", id, err)
	}
	return nil
}

// ForgetNewEndpoint deletes the endpoint without a tombstone unless a
// task was routed to it; see service.Store.
func (s *Store) ForgetNewEndpoint(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Locked first: the next statement then sees the tasks of a
		// submission that held the row.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM endpoints WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM endpoints WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM tasks WHERE endpoint_id = $1)`, id)
		return err
	})
}

// RecordHeartbeat replaces the endpoint's latest heartbeat, its detail as
// JSON (an empty string when it has none).
func (s *Store) RecordHeartbeat(ctx context.Context, endpointID string, hb service.Heartbeat) error {
	var detail []byte
	if !reflect.DeepEqual(hb.Detail, broker.HeartbeatDetail{}) {
		var err error
		if detail, err = json.Marshal(hb.Detail); err != nil {
			return fmt.Errorf("encode heartbeat detail: %w", err)
		}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE endpoints SET hb_time = $1, hb_managers = $2, hb_workers = $3, hb_outstanding = $4, hb_stopping = $5, hb_detail = $6 WHERE id = $7`,
		nanos(hb.Time), hb.Managers, hb.Workers, hb.Outstanding, hb.Stopping, string(detail), endpointID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return service.ErrNotFound
	}
	return nil
}
