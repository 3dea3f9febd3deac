package main

import (
	"fmt"

	"github.com/funcx-go/funcx/service"
)

type userAddCmd struct {
	Name string `arg:"" help:"Name of the identity (unique)."`
}

func (c *userAddCmd) Run(e *env) error {
	return e.withAdmin(nil, func(svc *service.Service) error {
		id, secret, err := svc.AddIdentity(e.ctx, c.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "client ID:     %s\nclient secret: %s\n\n", id, secret)
		fmt.Fprintf(e.stdout, "Store the secret now: it is not shown again. For the SDK and the funcx CLI:\n")
		fmt.Fprintf(e.stdout, "  export FUNCX_SDK_CLIENT_ID=%s FUNCX_SDK_CLIENT_SECRET=%s\n", id, secret)
		return nil
	})
}
