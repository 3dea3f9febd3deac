package sqlitestore

import "context"

// Exec runs a statement on the writer, for tests that need to set up what
// the API cannot.
func (s *Store) Exec(ctx context.Context, stmt string) error {
	_, err := s.w.ExecContext(ctx, stmt)
	return err
}

// Checkpoint runs one of the checkpointer's checkpoints now.
func (s *Store) Checkpoint(ctx context.Context) error { return s.cp.checkpoint(ctx) }

// LastCheckpoint reports the newest checkpoint's outcome: the pages in
// the WAL and, of them, those copied into the database file; ok is false
// before the first.
func (s *Store) LastCheckpoint() (log, checkpointed int, ok bool) {
	o := s.cp.last.Load()
	if o == nil {
		return 0, 0, false
	}
	return o.log, o.checkpointed, true
}
