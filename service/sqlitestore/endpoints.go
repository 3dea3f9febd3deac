package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
)

// RegisterEndpoint inserts the endpoint or, if its owner registered it
// before, updates its names, version and registration time.
func (s *Store) RegisterEndpoint(ctx context.Context, e service.Endpoint) (created bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT owner FROM endpoints WHERE id = ?`, e.ID).Scan(&owner)
		switch {
		case err == sql.ErrNoRows:
			created = true
			_, err = tx.ExecContext(ctx, `INSERT INTO endpoints (id, owner, name, display_name, version, registered_at) VALUES (?, ?, ?, ?, ?, ?)`,
				e.ID, e.Owner, e.Name, e.DisplayName, e.Version, nanos(e.RegisteredAt))
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

const endpointColumns = `id, owner, name, display_name, version, registered_at,
	hb_time, hb_managers, hb_workers, hb_outstanding, hb_stopping, hb_detail`

func scanEndpoint(sc interface{ Scan(...any) error }) (service.Endpoint, error) {
	var e service.Endpoint
	var reg, hb int64
	var detail string
	err := sc.Scan(&e.ID, &e.Owner, &e.Name, &e.DisplayName, &e.Version, &reg,
		&hb, &e.Heartbeat.Managers, &e.Heartbeat.Workers, &e.Heartbeat.Outstanding, &e.Heartbeat.Stopping, &detail)
	e.RegisteredAt, e.Heartbeat.Time = fromNanos(reg), fromNanos(hb)
	if err == nil && detail != "" {
		// Written by RecordHeartbeat from the same type; a row that does
		// not decode is shown without detail rather than failing the read.
		_ = json.Unmarshal([]byte(detail), &e.Heartbeat.Detail)
	}
	return e, err
}

// Endpoint returns one endpoint.
func (s *Store) Endpoint(ctx context.Context, id string) (service.Endpoint, error) {
	e, err := scanEndpoint(s.r.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = ?`, id))
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

// DeleteEndpoint deletes an endpoint. Its tasks and results stay readable.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM endpoints WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return service.ErrNotFound
	}
	return nil
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
