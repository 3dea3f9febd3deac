package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/funcx-go/funcx/service/api"
)

// handleRegisterEndpoint registers a new endpoint or re-registers one.
//
// An endpoint_id that is not stored yet is taken as the new endpoint's ID
// (endpoints may choose their own, so a retried registration is
// idempotent); one stored by another identity is 403, and a deleted one
// 410, whoever asks: IDs are never reused. Each registration
// creates or rotates the endpoint's broker user: the previous credentials
// stop working.
func (s *Service) handleRegisterEndpoint(w http.ResponseWriter, r *http.Request, who Identity) error {
	var req api.RegisterEndpointRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := validName("name", req.Name, 256); err != nil {
		return badRequest("%v", err)
	}
	if err := errors.Join(validText("display_name", req.DisplayName, 256), validText("version", req.Version, 64)); err != nil {
		return badRequest("%v", err)
	}
	if s.broker == nil {
		return errNoBroker
	}
	id := uuid.NewString()
	if req.EndpointID != "" {
		var err error
		if id, err = parseID("endpoint_id", req.EndpointID); err != nil {
			return err
		}
	}
	// The store claims the ID first, atomically, so that the broker
	// credentials are only ever rotated for the owner.
	ep := Endpoint{ID: id, Owner: who.ID, Name: req.Name, DisplayName: req.DisplayName, Version: req.Version, RegisteredAt: s.now()}
	created, err := s.store.RegisterEndpoint(r.Context(), ep)
	if errors.Is(err, ErrNotOwner) {
		return newAPIError(http.StatusForbidden, "forbidden", "endpoint %s belongs to another identity", id)
	}
	if errors.Is(err, ErrDeleted) {
		return idDeleted(id)
	}
	if err != nil {
		return fmt.Errorf("store endpoint %s: %w", id, err)
	}
	creds, err := s.broker.EnsureEndpoint(r.Context(), id)
	if err != nil {
		if created {
			// Leave nothing half made (a virtual host without its user,
			// say); the client will register again, maybe with the same
			// ID, so it is not tombstoned.
			undo := context.WithoutCancel(r.Context())
			if derr := s.broker.DeleteEndpoint(undo, id); derr != nil {
				s.log.Error("could not remove what the broker set up for a failed registration", "endpoint", id, "err", derr)
			}
			if derr := s.store.ForgetNewEndpoint(undo, id); derr != nil {
				s.log.Error("could not undo an endpoint registration", "endpoint", id, "err", derr)
			}
		}
		s.log.Warn("broker could not set up endpoint", "endpoint", id, "err", err)
		return unavailable("the broker could not set up endpoint %s: %v; register again", id, err)
	}
	s.log.Info("endpoint registered", "endpoint", id, "owner", who.Name, "new", created)
	writeJSON(w, http.StatusOK, api.RegisterEndpointResponse{EndpointID: id, Broker: api.BrokerCredentials(creds)})
	return nil
}

func (s *Service) handleListEndpoints(w http.ResponseWriter, r *http.Request, who Identity) error {
	eps, err := s.store.Endpoints(r.Context(), who.ID)
	if err != nil {
		return fmt.Errorf("list endpoints: %w", err)
	}
	out := api.EndpointList{Endpoints: make([]api.EndpointStatus, 0, len(eps))}
	for _, ep := range eps {
		out.Endpoints = append(out.Endpoints, s.endpointStatus(ep, who))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) handleGetEndpoint(w http.ResponseWriter, r *http.Request, who Identity) error {
	ep, err := s.ownEndpoint(r.Context(), r.PathValue("id"), who)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.endpointStatus(ep, who))
	return nil
}

// handleDeleteEndpoint removes the endpoint's broker resources, then the
// endpoint: its ID is tombstoned and its tasks without a result fail with
// EndpointDeleted at once. Its tasks and results stay readable.
func (s *Service) handleDeleteEndpoint(w http.ResponseWriter, r *http.Request, who Identity) error {
	ep, err := s.ownEndpoint(r.Context(), r.PathValue("id"), who)
	if err != nil {
		return err
	}
	if s.broker == nil {
		return errNoBroker
	}
	if err := s.broker.DeleteEndpoint(r.Context(), ep.ID); err != nil {
		s.log.Warn("broker could not delete endpoint", "endpoint", ep.ID, "err", err)
		return unavailable("the broker could not delete endpoint %s: %v; try again", ep.ID, err)
	}
	s.seen.endpoints.forget(ep.ID)
	// Not cut short by a client that hangs up: the broker side is gone.
	d, err := s.store.DeleteEndpoint(context.WithoutCancel(r.Context()), ep.ID, s.now())
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete endpoint %s: %w", ep.ID, err)
	}
	s.announceDeletion(d)
	s.live.forget(ep.ID)
	s.log.Info("endpoint deleted", "endpoint", ep.ID, "owner", who.Name, "tasks_failed", d.Failed)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ownEndpoint returns the caller's endpoint; another identity's is 404,
// so that its existence is not disclosed. A deleted one is 410 to anyone
// (a registration of its ID says as much).
func (s *Service) ownEndpoint(ctx context.Context, rawID string, who Identity) (Endpoint, error) {
	id, err := parseID("endpoint id", rawID)
	if err != nil {
		return Endpoint{}, err
	}
	ep, err := s.store.Endpoint(ctx, id)
	if errors.Is(err, ErrDeleted) {
		return Endpoint{}, endpointDeleted(id)
	}
	if errors.Is(err, ErrNotFound) || (err == nil && ep.Owner != who.ID) {
		return Endpoint{}, notFound("endpoint %s not found", id)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("read endpoint %s: %w", id, err)
	}
	return ep, nil
}

func (s *Service) endpointStatus(ep Endpoint, owner Identity) api.EndpointStatus {
	status := "offline"
	if isOnline(ep.Heartbeat, s.now(), s.offlineAfter()) {
		status = "online"
	}
	d := ep.Heartbeat.Detail
	return api.EndpointStatus{
		EndpointID:    ep.ID,
		Name:          ep.Name,
		DisplayName:   ep.DisplayName,
		Owner:         owner.ID,
		Status:        status,
		RegisteredAt:  utc(ep.RegisteredAt),
		LastHeartbeat: utc(ep.Heartbeat.Time),
		Managers:      ep.Heartbeat.Managers,
		Workers:       ep.Heartbeat.Workers,
		Outstanding:   ep.Heartbeat.Outstanding,
		Blocks:        d.Blocks,
		BlockError:    blockError(d.BlockError),
		BlockProblems: blockProblems(d.BlockProblems),
		Routing:       routing(d.Routing),

		QuarantinedRecords: d.QuarantinedRecords,
	}
}
