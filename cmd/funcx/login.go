package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/funcx-go/funcx/internal/tty"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

// verifyTimeout bounds the whoami that checks new credentials.
const verifyTimeout = 30 * time.Second

type loginCmd struct {
	ClientID     string `name:"client-id" placeholder:"ID" help:"Client identity ID. Default: $FUNCX_SDK_CLIENT_ID, else asked for."`
	ClientSecret string `name:"client-secret" placeholder:"SECRET" help:"Client secret (visible to other users in ps: prefer $FUNCX_SDK_CLIENT_SECRET or the prompt)."`
	TokenStdin   bool   `name:"token-stdin" help:"Read a bearer token from stdin instead of using a client identity."`
}

func (l *loginCmd) Run(e *env) error {
	home, err := client.Home(e.sys.getenv)
	if err != nil {
		return err
	}
	path := filepath.Join(home, client.CredentialsFile)
	saved, _ := client.LoadCredentials(path) // for the suggested URL and the CA file

	creds := client.Credentials{ServiceURL: cmp.Or(e.cli.ServiceURL, e.sys.getenv(client.EnvServiceURL))}
	if creds.ServiceURL == "" {
		if creds.ServiceURL, err = e.ask("Service URL", saved.ServiceURL, false, "--service-url", client.EnvServiceURL); err != nil {
			return err
		}
	}
	if ca := cmp.Or(e.cli.CAFile, e.sys.getenv(client.EnvCAFile)); ca != "" {
		// Absolute: the saved credentials are used from any directory.
		if creds.CAFile, err = filepath.Abs(ca); err != nil {
			return fmt.Errorf("login: CA file %s: %w", ca, err)
		}
	} else if creds.ServiceURL == saved.ServiceURL {
		creds.CAFile = saved.CAFile // logging in again to the same service
	}
	if l.TokenStdin {
		tok, err := io.ReadAll(io.LimitReader(e.sys.stdin, 64<<10))
		if err != nil {
			return fmt.Errorf("login: read the token from stdin: %w", err)
		}
		if creds.Token = strings.TrimSpace(string(tok)); creds.Token == "" {
			return errors.New("login: stdin held no token")
		}
	} else {
		creds.ClientID = cmp.Or(l.ClientID, e.sys.getenv(client.EnvClientID))
		if creds.ClientID == "" {
			if creds.ClientID, err = e.ask("Client ID", "", false, "--client-id", client.EnvClientID); err != nil {
				return err
			}
		}
		creds.ClientSecret = cmp.Or(l.ClientSecret, e.sys.getenv(client.EnvClientSecret))
		if creds.ClientSecret == "" {
			if creds.ClientSecret, err = e.ask("Client secret", "", true, "--client-secret", client.EnvClientSecret); err != nil {
				return err
			}
		}
	}

	ctx, cancel := context.WithTimeout(e.ctx, verifyTimeout)
	defer cancel()
	var id *api.Identity
	err = e.withClientFor(creds, func(c *client.Client) (err error) {
		id, err = c.Whoami(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("login: check the credentials with %s: %w", creds.ServiceURL, err)
	}
	if err := creds.Save(path); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	fmt.Fprintf(e.sys.stdout, "Logged in to %s as %s (%s).\nCredentials saved in %s.\n", creds.ServiceURL, id.Name, id.ID, path)
	return nil
}

// ask prompts for a value on the terminal, showing def as the answer taken
// on a bare Enter. Without a terminal it says which flag or variable to
// set.
func (e *env) ask(what, def string, secret bool, flag, envVar string) (string, error) {
	if e.sys.term == nil {
		return "", fmt.Errorf("login: no %s: pass %s or set %s (stdin is not a terminal to ask on)", strings.ToLower(what), flag, envVar)
	}
	v, err := tty.AskDefault(e.ctx, e.sys.term, what, def, secret)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	return v, nil
}

type logoutCmd struct{}

func (logoutCmd) Run(e *env) error {
	home, err := client.Home(e.sys.getenv)
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
		fmt.Fprintf(e.sys.stderr, "funcx: %s is still set: commands keep using it.\n", client.EnvClientID)
	}
	return nil
}
