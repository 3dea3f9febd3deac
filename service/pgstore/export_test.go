package pgstore

import "context"

// Exec runs a statement in the store's schema, for tests that need to set
// up what the API cannot.
func (s *Store) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := s.pool.Exec(ctx, sql, args...)
	return err
}
