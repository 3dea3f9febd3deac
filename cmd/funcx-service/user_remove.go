package main

import (
	"fmt"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
)

type userRemoveCmd struct {
	Identity    string `arg:"" help:"Name, identity ID or client ID of the identity."`
	brokerFlags `embed:""`
}

// Run removes the identity. Its endpoints' broker users and queues go
// too, so this needs the broker (the same flags as serve).
func (c *userRemoveCmd) Run(e *env) error {
	var b broker.Service
	if !c.InProcessBroker { // an in-process broker has nothing to clean up
		var err error
		if b, err = newBroker(&c.brokerFlags, endpointLimits{}, e.log); err != nil {
			return err
		}
		defer b.Close()
	}
	return e.withAdmin(b, func(svc *service.Service) error {
		if err := svc.RemoveIdentity(e.ctx, c.Identity); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed %s\n", c.Identity)
		return nil
	})
}
