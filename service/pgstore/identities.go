package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcx-go/funcx/service"
)

// CreateIdentity stores a new identity; service.ErrConflict if its name or
// client ID is taken.
func (s *Store) CreateIdentity(ctx context.Context, id service.IdentityRecord) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO identities (id, name, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id.ID, id.Name, id.ClientID, id.SecretHash, nanos(id.CreatedAt))
	if isCode(err, "23505") {
		return fmt.Errorf("identity %q: %w", id.Name, service.ErrConflict)
	}
	return err
}

// IdentityByClientID returns the identity with that client ID.
func (s *Store) IdentityByClientID(ctx context.Context, clientID string) (service.IdentityRecord, error) {
	var r service.IdentityRecord
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT id, name, client_id, secret_hash, created_at FROM identities WHERE client_id = $1`, clientID).
		Scan(&r.ID, &r.Name, &r.ClientID, &r.SecretHash, &created)
	r.CreatedAt = fromNanos(created)
	return r, notFound(err)
}

// Identities lists every identity by name.
func (s *Store) Identities(ctx context.Context) ([]service.Identity, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, name, client_id, created_at FROM identities ORDER BY name COLLATE "C"`)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (service.Identity, error) {
		var i service.Identity
		var created int64
		err := row.Scan(&i.ID, &i.Name, &i.ClientID, &created)
		i.CreatedAt = fromNanos(created)
		return i, err
	})
}

// DeleteIdentity deletes the identity and what it owns: its endpoints
// (their IDs tombstoned, as DeleteEndpoint does, and announced deleted),
// its results and tasks, and, through foreign keys, its tokens and
// functions.
func (s *Store) DeleteIdentity(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Locked first, so that an endpoint the identity registers
		// meanwhile is either deleted here or never created (its foreign
		// key waits for this lock, then fails).
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM identities WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			return notFound(err)
		}
		rows, _ := tx.Query(ctx, `INSERT INTO deleted_endpoints (id, deleted_at) SELECT id, $2 FROM endpoints WHERE owner = $1
			ON CONFLICT (id) DO NOTHING RETURNING id`, id, time.Now().UnixNano())
		eps, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("tombstone the endpoints of identity %s: %w", id, err)
		}
		// The endpoints go first: their rows wait for the submissions in
		// flight (as DeleteEndpoint does), whose tasks the statements
		// below then see. Then the results lock, in DeleteEndpoint's
		// order, so that no result of the identity is stored meanwhile.
		if _, err := tx.Exec(ctx, `DELETE FROM endpoints WHERE owner = $1`, id); err != nil {
			return fmt.Errorf("delete the endpoints of identity %s: %w", id, err)
		}
		if err := s.lockResults(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM results WHERE owner = $1`, id); err != nil {
			return fmt.Errorf("delete the results of identity %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM tasks WHERE owner = $1`, id); err != nil {
			return fmt.Errorf("delete the tasks of identity %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM identities WHERE id = $1`, id); err != nil {
			return err
		}
		for _, ep := range eps {
			if err := s.notify(ctx, tx, change{Kind: kindDeleted, Endpoint: ep}); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateToken stores a token.
func (s *Store) CreateToken(ctx context.Context, t service.Token) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (hash, identity_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, t.IdentityID, nanos(t.CreatedAt), nanos(t.ExpiresAt))
	return err
}

// TokenIdentity returns the identity of the token with that hash and the
// token's expiry.
func (s *Store) TokenIdentity(ctx context.Context, hash []byte) (service.Identity, time.Time, error) {
	var i service.Identity
	var created, expires int64
	err := s.pool.QueryRow(ctx, `SELECT i.id, i.name, i.client_id, i.created_at, t.expires_at
		FROM tokens t JOIN identities i ON i.id = t.identity_id WHERE t.hash = $1`, hash).Scan(&i.ID, &i.Name, &i.ClientID, &created, &expires)
	i.CreatedAt = fromNanos(created)
	return i, fromNanos(expires), notFound(err)
}

// DeleteExpiredTokens deletes tokens expired at now.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE expires_at <= $1`, now.UnixNano())
	return tag.RowsAffected(), err
}
