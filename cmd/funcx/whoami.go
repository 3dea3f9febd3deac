package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

type whoamiCmd struct{}

func (whoamiCmd) Run(e *env) error {
	creds, err := e.credentials()
	if err != nil {
		return err
	}
	var id *api.Identity
	err = e.withClientFor(creds, func(c *client.Client) (err error) {
		id, err = c.Whoami(e.ctx)
		return err
	})
	if err != nil {
		return err
	}
	return printFields(e.sys.stdout, [][2]string{
		{"Name", id.Name},
		{"ID", id.ID},
		{"Client ID", id.ClientID},
		{"Service", creds.ServiceURL},
	})
}

// printFields prints aligned "Key: value" lines.
func printFields(w io.Writer, fields [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}
