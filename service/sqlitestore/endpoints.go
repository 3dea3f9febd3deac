package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
)

// RegisterEndpoint inserts the endpoint with a new incarnation or, if its
// owner registered it before, updates its names, version and
// registration time. A tombstoned ID is service.ErrDeleted.
func (s *Store) RegisterEndpoint(ctx context.Context, e service.Endpoint) (created bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT owner FROM endpoints WHERE id = ?`, e.ID).Scan(&owner)
		switch {
		case err == sql.ErrNoRows:
			if gone, err := tombstoned(ctx, tx, e.ID); err != nil || gone {
				return cmp.Or(err, service.ErrDeleted)
			}
			var inc int64
			if err := tx.QueryRowContext(ctx, `UPDATE sequences SET last = last + 1 WHERE name = 'endpoint_incarnation' RETURNING last`).Scan(&inc); err != nil {
				return fmt.Errorf("take an incarnation: %w", err)
			}
			created = true
			_, err = tx.ExecContext(ctx, `INSERT INTO endpoints (id, owner, name, display_name, version, registered_at, incarnation) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				e.ID, e.Owner, e.Name, e.DisplayName, e.Version, nanos(e.RegisteredAt), inc)
			return err
		case err != nil:
			return err
		case owner != e.Owner:
			return service.ErrNotOwner
		}
		_, err = tx.ExecContext(ctx, `UPDATE endpoints SET name = ?, display_name = ?, version = ?, registered_at = ? WHERE id = ?`,
			e.Name, e.DisplayName, e.Version, nanos(e.RegisteredAt), e.ID)
		return err
	})
	return created, err
}

// tombstoned reports whether the endpoint ID was deleted.
func tombstoned(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (bool, error) {
	var gone bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deleted_endpoints WHERE id = ?)`, id).Scan(&gone)
	return gone, err
}

const endpointColumns = `id, owner, name, display_name, version, registered_at,
	hb_time, hb_managers, hb_workers, hb_outstanding, hb_stopping, hb_detail, incarnation`

func scanEndpoint(sc interface{ Scan(...any) error }) (service.Endpoint, error) {
	var e service.Endpoint
	var reg, hb int64
	var detail string
	err := sc.Scan(&e.ID, &e.Owner, &e.Name, &e.DisplayName, &e.Version, &reg,
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
	e, err := scanEndpoint(s.r.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		if gone, terr := tombstoned(ctx, s.r, id); terr != nil || gone {
			return e, cmp.Or(terr, service.ErrDeleted)
		}
	}
	return e, notFound(err)
}

// Endpoints lists owner's endpoints by name.
func (s *Store) Endpoints(ctx context.Context, owner string) ([]service.Endpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE owner = ? ORDER BY name, id`, owner)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EndpointIDs lists the IDs of every endpoint.
func (s *Store) EndpointIDs(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM endpoints`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteEndpoint deletes the endpoint, tombstones its ID and fails its
// tasks without a result with EndpointDeleted, in one transaction; see
// service.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, id string, at time.Time) (service.EndpointDeletion, error) {
	var out service.EndpointDeletion
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = service.EndpointDeletion{}
		err := tx.QueryRowContext(ctx, `SELECT owner FROM endpoints WHERE id = ?`, id).Scan(&out.Owner)
		if err == sql.ErrNoRows {
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO deleted_endpoints (id, deleted_at) VALUES (?, ?)`, id, nanos(at))
		return err
	})
	if err != nil {
		return service.EndpointDeletion{}, err
	}
	return out, nil
}

// qFailEndpointTasks stores an EndpointDeleted failure for each task of
// an endpoint without a result, in task order. Its parameters: state,
// error kind, message, stored (and finished) time, endpoint.
const qFailEndpointTasks = `INSERT INTO results (task_rid, task_id, owner, endpoint_id, state, output, stdout, stderr,
	truncated, exit_code, has_error, error_kind, error_message, error_stack, attempt, manager, worker,
	received_at, dispatched_at, started_at, finished_at, submitted_at, stored_at)
	SELECT t.rid, t.id, t.owner, t.endpoint_id, ?1, NULL, NULL, NULL, 0, -1, 1, ?2, ?3, '', 0, '', -1, 0, 0, 0, ?4, t.submitted_at, ?4
	FROM tasks t WHERE t.endpoint_id = ?5 AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid)
	ORDER BY t.rid`

// failEndpointTasks fails the endpoint's tasks that have no result and
// counts them into out. An endpoint may have a million waiting tasks, so
// only their seq range is kept, not the results: one statement numbers
// them consecutively (seq is AUTOINCREMENT, in the one writer's
// transaction), ending at the sequence's new value.
func (s *Store) failEndpointTasks(ctx context.Context, tx *sql.Tx, id string, at time.Time, out *service.EndpointDeletion) error {
	msg := fmt.Sprintf("endpoint %s was deleted before the task had a result", id)
	res, err := tx.ExecContext(ctx, qFailEndpointTasks, int(funcx.StateFailed), int(funcx.EndpointDeleted), msg, nanos(at), id)
	if err != nil {
		return fmt.Errorf("fail the tasks of endpoint %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'results'`).Scan(&out.LastSeq); err != nil {
		return fmt.Errorf("fail the tasks of endpoint %s: read the last seq: %w", id, err)
	}
	out.Failed, out.FirstSeq = int(n), out.LastSeq-n+1
	return nil
}

// ForgetNewEndpoint deletes the endpoint without a tombstone unless a
// task was routed to it; see service.Store.
func (s *Store) ForgetNewEndpoint(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM endpoints WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM tasks WHERE endpoint_id = ?1)`, id)
	return err
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
	res, err := s.w.ExecContext(ctx, `UPDATE endpoints SET hb_time = ?, hb_managers = ?, hb_workers = ?, hb_outstanding = ?, hb_stopping = ?, hb_detail = ? WHERE id = ?`,
		nanos(hb.Time), hb.Managers, hb.Workers, hb.Outstanding, hb.Stopping, string(detail), endpointID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return service.ErrNotFound
	}
	return nil
}
