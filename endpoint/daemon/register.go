package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/service/api"
)

// RegisterConfig is what Register tells the service besides the profile.
type RegisterConfig struct {
	// ServiceURL is the URL of the service the client talks to, recorded
	// in endpoint.json at the first registration. Defaults to none.
	ServiceURL string
	// DisplayName is the endpoint's display name. Defaults to the
	// profile's name.
	DisplayName string
	// Version is the endpoint's software, as the service shows it.
	// Defaults to none.
	Version string
}

// NotOwnerError refuses to register an endpoint that belongs to another
// identity.
type NotOwnerError struct {
	// Profile is the profile's name, EndpointID its endpoint.
	Profile, EndpointID string
	// OwnerID and OwnerName are the owner's, as endpoint.json records
	// them (empty when the service refused without it saying).
	OwnerID, OwnerName string
	// You is the identity that was refused.
	You api.Identity
}

func (e *NotOwnerError) Error() string {
	owner := "another identity"
	if e.OwnerName != "" {
		owner = fmt.Sprintf("%s (%s)", e.OwnerName, e.OwnerID)
	}
	return fmt.Sprintf("endpoint %s (%s) belongs to %s, and you are %s (%s): only its owner may start it",
		e.Profile, e.EndpointID, owner, e.You.Name, e.You.ID)
}

// DeletedError refuses to register an endpoint that was deleted from the
// service: its ID is never reused. It wraps client.ErrGone.
type DeletedError struct {
	Profile, EndpointID string
	Err                 error
}

func (e *DeletedError) Error() string {
	return fmt.Sprintf("endpoint %s (%s) was deleted from the service, and a deleted endpoint ID is never reused", e.Profile, e.EndpointID)
}

func (e *DeletedError) Unwrap() error { return e.Err }

// Register registers the profile's endpoint with the service through c,
// reusing the endpoint ID in its endpoint.json, and records a first
// registration there with its owner. Only the owner may register an
// endpoint: another identity gets a *NotOwnerError; an endpoint deleted
// from the service is a *DeletedError.
func Register(ctx context.Context, c *client.Client, p *profile.Profile, cfg RegisterConfig) (Handoff, error) {
	reg, registered, err := p.Registration()
	if err != nil {
		return Handoff{}, err
	}
	who, err := c.Whoami(ctx)
	if err != nil {
		return Handoff{}, err
	}
	notOwner := &NotOwnerError{Profile: p.Name, EndpointID: reg.EndpointID, OwnerID: reg.OwnerID, OwnerName: reg.OwnerName, You: *who}
	if registered && reg.OwnerID != "" && reg.OwnerID != who.ID {
		return Handoff{}, notOwner
	}
	resp, err := c.RegisterEndpoint(ctx, api.RegisterEndpointRequest{EndpointID: reg.EndpointID, Name: p.Name,
		DisplayName: cmp.Or(cfg.DisplayName, p.Name), Version: cfg.Version})
	switch {
	case errors.Is(err, client.ErrForbidden):
		return Handoff{}, notOwner
	case errors.Is(err, client.ErrGone):
		return Handoff{}, &DeletedError{Profile: p.Name, EndpointID: reg.EndpointID, Err: err}
	case err != nil:
		return Handoff{}, err
	}
	if !registered {
		reg = profile.Registration{EndpointID: resp.EndpointID, ServiceURL: cfg.ServiceURL,
			OwnerID: who.ID, OwnerName: who.Name, RegisteredAt: time.Now().UTC()}
		if err := p.SaveRegistration(reg); err != nil {
			return Handoff{}, err
		}
	}
	return Handoff{EndpointID: resp.EndpointID, Broker: resp.Broker}, nil
}
