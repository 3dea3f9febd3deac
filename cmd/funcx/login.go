package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/cli"
)

// maxToken bounds the token read by login --token-stdin.
const maxToken = 64 << 10

type loginCmd struct {
	ClientID     string `name:"client-id" placeholder:"ID" help:"Client identity ID. Default: $FUNCX_SDK_CLIENT_ID, else asked for."`
	ClientSecret string `name:"client-secret" placeholder:"SECRET" help:"Client secret (visible to other users in ps: prefer $FUNCX_SDK_CLIENT_SECRET or the prompt)."`
	TokenStdin   bool   `name:"token-stdin" help:"Read a bearer token from stdin instead of using a client identity."`
}

func (l *loginCmd) Run(e *env) error {
	getenv := e.Sys.Getenv
	given := cli.Login{Creds: client.Credentials{ServiceURL: cmp.Or(e.g.ServiceURL, getenv(client.EnvServiceURL)),
		CAFile: cmp.Or(e.g.CAFile, getenv(client.EnvCAFile))}}
	if l.TokenStdin {
		given.Token = func() (string, error) { return readToken(e.Sys.Stdin) }
	} else {
		given.Creds.ClientID = cmp.Or(l.ClientID, getenv(client.EnvClientID))
		given.Creds.ClientSecret = cmp.Or(l.ClientSecret, getenv(client.EnvClientSecret))
	}
	creds, who, path, err := e.Login(given)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Sys.Stdout, "Logged in to %s as %s (%s).\nCredentials saved in %s.\n", creds.ServiceURL, who.Name, who.ID, path)
	return nil
}

// readToken reads a bearer token from r.
func readToken(r io.Reader) (string, error) {
	tok, err := io.ReadAll(io.LimitReader(r, maxToken))
	if err != nil {
		return "", fmt.Errorf("login: read the token from stdin: %w", err)
	}
	t := strings.TrimSpace(string(tok))
	if t == "" {
		return "", errors.New("login: stdin held no token")
	}
	return t, nil
}
