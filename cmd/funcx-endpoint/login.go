package main

import (
	"cmp"
	"fmt"

	"github.com/funcx-go/funcx/client"
)

type loginCmd struct {
	ServiceURL   string `name:"service-url" placeholder:"URL" help:"Service URL. Default: $FUNCX_SERVICE_URL, else asked for."`
	ClientID     string `name:"client-id" placeholder:"ID" help:"Client identity ID. Default: $FUNCX_SDK_CLIENT_ID, else asked for."`
	ClientSecret string `name:"client-secret" placeholder:"SECRET" help:"Client secret (visible to other users in ps: prefer $FUNCX_SDK_CLIENT_SECRET or the prompt)."`
}

func (l *loginCmd) Run(e *env) error {
	getenv := e.Sys.Getenv
	_, who, err := e.login(client.Credentials{ServiceURL: cmp.Or(l.ServiceURL, getenv(client.EnvServiceURL)),
		ClientID: cmp.Or(l.ClientID, getenv(client.EnvClientID)), ClientSecret: cmp.Or(l.ClientSecret, getenv(client.EnvClientSecret)),
		CAFile: cmp.Or(e.g.CAFile, getenv(client.EnvCAFile))})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Sys.Stdout, "Logged in as %s (%s).\n", who.Name, who.ID)
	return nil
}
