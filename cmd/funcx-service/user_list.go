package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/funcx-go/funcx/service"
)

type userListCmd struct{}

func (c *userListCmd) Run(e *env) error {
	return e.withAdmin(nil, func(svc *service.Service) error {
		ids, err := svc.ListIdentities(e.ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tCLIENT ID\tIDENTITY ID\tCREATED")
		for _, id := range ids {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", id.Name, id.ClientID, id.ID, id.CreatedAt.UTC().Format(time.RFC3339))
		}
		return w.Flush()
	})
}
