package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/funcx-go/funcx/service"
)

// CreateIdentity stores a new identity; service.ErrConflict if its name or
// client ID is taken.
func (s *Store) CreateIdentity(ctx context.Context, id service.IdentityRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO identities (id, name, client_id, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		id.ID, id.Name, id.ClientID, id.SecretHash, nanos(id.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("identity %q: %w", id.Name, service.ErrConflict)
	}
	return err
}

// IdentityByClientID returns the identity with that client ID.
func (s *Store) IdentityByClientID(ctx context.Context, clientID string) (service.IdentityRecord, error) {
	var r service.IdentityRecord
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, client_id, secret_hash, created_at FROM identities WHERE client_id = ?`, clientID).
		Scan(&r.ID, &r.Name, &r.ClientID, &r.SecretHash, &created)
	r.CreatedAt = fromNanos(created)
	return r, notFound(err)
}

// Identities lists every identity by name.
func (s *Store) Identities(ctx context.Context) ([]service.Identity, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, client_id, created_at FROM identities ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []service.Identity
	for rows.Next() {
		var i service.Identity
		var created int64
		if err := rows.Scan(&i.ID, &i.Name, &i.ClientID, &created); err != nil {
			return nil, err
		}
		i.CreatedAt = fromNanos(created)
		out = append(out, i)
	}
	return out, rows.Err()
}

// DeleteIdentity deletes the identity; foreign keys cascade to its tokens,
// endpoints, functions, tasks and results. Its endpoint IDs are
// tombstoned, as DeleteEndpoint does: no one may register them again.
func (s *Store) DeleteIdentity(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deleted_endpoints (id, deleted_at) SELECT id, ? FROM endpoints WHERE owner = ?`,
			time.Now().UnixNano(), id); err != nil {
			return fmt.Errorf("tombstone the endpoints of identity %s: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return service.ErrNotFound
		}
		return nil
	})
}

// CreateToken stores a token.
func (s *Store) CreateToken(ctx context.Context, t service.Token) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO tokens (hash, identity_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		t.Hash, t.IdentityID, nanos(t.CreatedAt), nanos(t.ExpiresAt))
	return err
}

// TokenIdentity returns the identity of the token with that hash and the
// token's expiry.
func (s *Store) TokenIdentity(ctx context.Context, hash []byte) (service.Identity, time.Time, error) {
	var i service.Identity
	var created, expires int64
	err := s.rs.queryRow(ctx, qTokenIdentity, hash).Scan(&i.ID, &i.Name, &i.ClientID, &created, &expires)
	i.CreatedAt = fromNanos(created)
	return i, fromNanos(expires), notFound(err)
}

// DeleteExpiredTokens deletes tokens expired at now.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at <= ?`, now.UnixNano())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
