package sqlitestore

import "context"

// Exec runs a statement on the writer, for tests that need to set up what
// the API cannot.
func (s *Store) Exec(ctx context.Context, stmt string) error {
	_, err := s.w.ExecContext(ctx, stmt)
	return err
}
