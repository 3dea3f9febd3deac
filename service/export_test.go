package service

import (
	"context"
	"time"
)

// SweepNow runs one sweep (expired tokens, unpublished tasks) for tests,
// which move a fake clock instead of waiting for the ticker.
func (s *Service) SweepNow(ctx context.Context) { s.sweepOnce(ctx) }

// BodyBytesInFlight reports the request body bytes held now and the most
// ever held at once (Config.MaxBodyBytesInFlight).
func (s *Service) BodyBytesInFlight() (used, peak int64) { return s.budget.inFlight() }

// RetainNow deletes the results expired by the (fake) clock now, as the
// retention ticker does, and returns how many.
func (s *Service) RetainNow(ctx context.Context) int { return s.retainOnce(ctx) }

// SetStreamWriteTimeout shortens the time a results stream's page may
// take to write.
func (s *Service) SetStreamWriteTimeout(d time.Duration) { s.streamWriteTimeout = d }
