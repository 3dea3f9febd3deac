package main

import (
	"cmp"
	"fmt"
	"path/filepath"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

type loginCmd struct {
	ServiceURL   string `name:"service-url" placeholder:"URL" help:"Service URL. Default: $FUNCX_SERVICE_URL, else asked for."`
	ClientID     string `name:"client-id" placeholder:"ID" help:"Client identity ID. Default: $FUNCX_SDK_CLIENT_ID, else asked for."`
	ClientSecret string `name:"client-secret" placeholder:"SECRET" help:"Client secret (visible to other users in ps: prefer $FUNCX_SDK_CLIENT_SECRET or the prompt)."`
}

func (l *loginCmd) Run(e *env) error {
	_, who, err := e.login(cmp.Or(l.ServiceURL, e.sys.getenv(client.EnvServiceURL)),
		cmp.Or(l.ClientID, e.sys.getenv(client.EnvClientID)), cmp.Or(l.ClientSecret, e.sys.getenv(client.EnvClientSecret)))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.sys.stdout, "Logged in as %s (%s).\n", who.Name, who.ID)
	return nil
}

type logoutCmd struct{}

func (logoutCmd) Run(e *env) error {
	home, err := e.home()
	if err != nil {
		return err
	}
	path := filepath.Join(home, client.CredentialsFile)
	had, err := client.DeleteCredentials(path)
	if err != nil {
		return err
	}
	if had {
		fmt.Fprintf(e.sys.stdout, "Logged out: removed %s.\n", path)
	} else {
		fmt.Fprintf(e.sys.stdout, "Not logged in: %s does not exist.\n", path)
	}
	if e.sys.getenv(client.EnvClientID) != "" {
		fmt.Fprintf(e.sys.stderr, "funcx-endpoint: %s is still set: commands keep using it.\n", client.EnvClientID)
	}
	return nil
}

type whoamiCmd struct{}

func (whoamiCmd) Run(e *env) error {
	creds, err := e.credentials("")
	if err != nil {
		return err
	}
	var who *api.Identity
	err = e.withClient(creds, func(c *client.Client) (err error) {
		who, err = c.Whoami(e.ctx)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.sys.stdout, "Name:       %s\nID:         %s\nClient ID:  %s\nService:    %s\n", who.Name, who.ID, who.ClientID, creds.ServiceURL)
	return nil
}
