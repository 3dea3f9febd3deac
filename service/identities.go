package service

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// AddIdentity creates a client identity and returns its client ID and
// secret. Only the secret's hash is stored: this is the one time it can
// be seen.
func (s *Service) AddIdentity(ctx context.Context, name string) (clientID, secret string, err error) {
	if err := validName("identity name", name, 128); err != nil {
		return "", "", fmt.Errorf("service: add identity: %w", err)
	}
	clientID, secret = uuid.NewString(), newSecret(secretPrefix)
	rec := IdentityRecord{
		Identity:   Identity{ID: uuid.NewString(), Name: name, ClientID: clientID, CreatedAt: s.now()},
		SecretHash: hashSecret(secret),
	}
	if err := s.store.CreateIdentity(ctx, rec); err != nil {
		return "", "", fmt.Errorf("service: add identity %q: %w", name, err)
	}
	return clientID, secret, nil
}

// ListIdentities lists the identities by name.
func (s *Service) ListIdentities(ctx context.Context) ([]Identity, error) {
	ids, err := s.store.Identities(ctx)
	if err != nil {
		return nil, fmt.Errorf("service: list identities: %w", err)
	}
	return ids, nil
}

// RemoveIdentity removes the identity named by ref (its name, ID or client
// ID) with everything it owns: tokens, endpoints (and their broker users
// and queues), functions, tasks and results. Without a broker it refuses
// to remove an identity that owns endpoints, whose broker users would
// otherwise be left behind.
func (s *Service) RemoveIdentity(ctx context.Context, ref string) error {
	ids, err := s.store.Identities(ctx)
	if err != nil {
		return fmt.Errorf("service: remove identity: %w", err)
	}
	var id *Identity
	for i := range ids {
		if ids[i].Name == ref || ids[i].ID == ref || ids[i].ClientID == ref {
			id = &ids[i]
			break
		}
	}
	if id == nil {
		return fmt.Errorf("service: remove identity %q: %w", ref, ErrNotFound)
	}
	eps, err := s.store.Endpoints(ctx, id.ID)
	if err != nil {
		return fmt.Errorf("service: remove identity %q: list its endpoints: %w", ref, err)
	}
	if len(eps) > 0 && s.broker == nil {
		return fmt.Errorf("service: remove identity %q: it owns %d endpoints whose broker users must be deleted: configure the broker", ref, len(eps))
	}
	for _, ep := range eps {
		if err := s.broker.DeleteEndpoint(ctx, ep.ID); err != nil {
			return fmt.Errorf("service: remove identity %q: delete endpoint %s from the broker: %w", ref, ep.ID, err)
		}
		s.live.forget(ep.ID)
	}
	if err := s.store.DeleteIdentity(ctx, id.ID); err != nil {
		return fmt.Errorf("service: remove identity %q: %w", ref, err)
	}
	s.seen.tokens.clear() // its tokens stop working here at once (lookups.go)
	return nil
}
