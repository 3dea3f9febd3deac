package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/funcx-go/funcx/internal/tty"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

// verifyTimeout bounds the whoami that checks new credentials.
const verifyTimeout = 30 * time.Second

// errNoTerminal explains what to do when credentials are missing and
// nobody can be asked.
var errNoTerminal = errors.New("not logged in, and stdin is not a terminal to log in on: run `funcx-endpoint login` on a terminal once " +
	"(credentials are cached in $FUNCX_HOME/credentials.json), or set " + client.EnvClientID + " and " + client.EnvClientSecret +
	" for a client identity (and the service URL: service_url in config.toml or " + client.EnvServiceURL + ")")

// credentials returns what to authenticate with: a client identity from
// the environment, else the cached credentials. The service URL is, in
// order, $FUNCX_SERVICE_URL, profileURL (the profile's service_url) and
// the cached one. A first run without cached credentials logs in on the
// terminal: service URL, then client ID and secret, checked with the
// service and cached (mode 0600).
func (e *env) credentials(profileURL string) (client.Credentials, error) {
	home, err := e.home()
	if err != nil {
		return client.Credentials{}, err
	}
	creds, err := client.ResolveCredentials(home, e.sys.getenv)
	if err != nil && !errors.Is(err, client.ErrNotLoggedIn) {
		return creds, err
	}
	if e.sys.getenv(client.EnvServiceURL) == "" && profileURL != "" {
		creds.ServiceURL = profileURL
	}
	if e.cli.CAFile != "" {
		creds.CAFile = e.cli.CAFile
	}
	if errors.Is(err, client.ErrNotLoggedIn) {
		if e.sys.term == nil {
			return creds, errNoTerminal
		}
		fmt.Fprintln(e.sys.stderr, "Not logged in to a funcX service yet: log in once, the credentials are cached.")
		creds, _, err = e.login(creds.ServiceURL, "", "")
		return creds, err
	}
	if creds.ServiceURL == "" {
		if e.sys.term == nil {
			return creds, errors.New("no service URL: set service_url in config.toml or " + client.EnvServiceURL + ", or run `funcx-endpoint login`")
		}
		if creds.ServiceURL, err = e.ask("Service URL", "", false); err != nil {
			return creds, err
		}
	}
	return creds, nil
}

// login asks for what is missing (service URL, client ID, secret), checks
// the credentials with the service and caches them.
func (e *env) login(serviceURL, id, secret string) (client.Credentials, *api.Identity, error) {
	home, err := e.home()
	if err != nil {
		return client.Credentials{}, nil, err
	}
	path := filepath.Join(home, client.CredentialsFile)
	saved, _ := client.LoadCredentials(path) // for the suggested URL and the CA file
	creds := client.Credentials{ServiceURL: serviceURL, ClientID: id, ClientSecret: secret}
	if creds.ServiceURL == "" {
		if creds.ServiceURL, err = e.ask("Service URL", saved.ServiceURL, false); err != nil {
			return creds, nil, err
		}
	}
	if ca := cmp.Or(e.cli.CAFile, e.sys.getenv(client.EnvCAFile)); ca != "" {
		// Absolute: the saved credentials are used from any directory.
		if creds.CAFile, err = filepath.Abs(ca); err != nil {
			return creds, nil, fmt.Errorf("log in: CA file %s: %w", ca, err)
		}
	} else if creds.ServiceURL == saved.ServiceURL {
		creds.CAFile = saved.CAFile // logging in again to the same service
	}
	if creds.ClientID == "" {
		if creds.ClientID, err = e.ask("Client ID", "", false); err != nil {
			return creds, nil, err
		}
	}
	if creds.ClientSecret == "" {
		if creds.ClientSecret, err = e.ask("Client secret", "", true); err != nil {
			return creds, nil, err
		}
	}
	ctx, cancel := context.WithTimeout(e.ctx, verifyTimeout)
	defer cancel()
	var who *api.Identity
	err = e.withClient(creds, func(c *client.Client) (err error) {
		who, err = c.Whoami(ctx)
		return err
	})
	if err != nil {
		return creds, nil, fmt.Errorf("log in: check the credentials with %s: %w", creds.ServiceURL, err)
	}
	if err := creds.Save(path); err != nil {
		return creds, nil, fmt.Errorf("log in: %w", err)
	}
	fmt.Fprintf(e.sys.stderr, "Logged in to %s as %s (%s); credentials saved in %s.\n", creds.ServiceURL, who.Name, who.ID, path)
	return creds, who, nil
}

// ask prompts on the terminal, showing def as the answer taken on a bare
// Enter.
func (e *env) ask(what, def string, secret bool) (string, error) {
	if e.sys.term == nil {
		return "", errNoTerminal
	}
	v, err := tty.AskDefault(e.ctx, e.sys.term, what, def, secret)
	if err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	return v, nil
}

// withClient calls fn with a client for creds (logging its requests with
// --debug) and closes it after.
func (e *env) withClient(creds client.Credentials, fn func(*client.Client) error) error {
	cfg := creds.Config()
	if e.cli.Debug {
		cfg.Logger = slog.New(slog.NewTextHandler(e.sys.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}
