package service

import "context"

// SweepNow runs one sweep (expired tokens, unpublished tasks) for tests,
// which move a fake clock instead of waiting for the ticker.
func (s *Service) SweepNow(ctx context.Context) { s.sweepOnce(ctx) }

// BodyBytesInFlight reports the request body bytes held now and the most
// ever held at once (Config.MaxBodyBytesInFlight).
func (s *Service) BodyBytesInFlight() (used, peak int64) { return s.budget.inFlight() }
