package main

import (
	"errors"
	"fmt"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/cli"
	"github.com/funcx-go/funcx/service/api"
)

// errNoTerminal explains what to do when credentials are missing and
// nobody can be asked.
var errNoTerminal = errors.New("not logged in, and stdin is not a terminal to log in on: run `funcx-endpoint login` on a terminal once " +
	"(credentials are cached in $FUNCX_HOME/credentials.json), or set " + client.EnvClientID + " and " + client.EnvClientSecret +
	" for a client identity (and the service URL: service_url in config.toml or " + client.EnvServiceURL + ")")

// credentials returns what to authenticate with: a client identity from
// the environment, else the cached credentials. The service URL is, in
// order, $FUNCX_SERVICE_URL, profileURL (the profile's service_url) and
// the cached one; the CA file of a private CA, --ca-file, else
// $FUNCX_CA_FILE, else the cached one. A first run without cached credentials logs in on the
// terminal: service URL, then client ID and secret, checked with the
// service and cached (mode 0600).
func (e *env) credentials(profileURL string) (client.Credentials, error) {
	home, err := e.Home()
	if err != nil {
		return client.Credentials{}, err
	}
	creds, err := client.ResolveCredentials(home, e.Sys.Getenv)
	if err != nil && !errors.Is(err, client.ErrNotLoggedIn) {
		return creds, err
	}
	if e.Sys.Getenv(client.EnvServiceURL) == "" && profileURL != "" {
		creds.ServiceURL = profileURL
	}
	if e.g.CAFile != "" {
		creds.CAFile = e.g.CAFile
	}
	switch {
	case errors.Is(err, client.ErrNotLoggedIn):
		if e.Sys.Term == nil {
			return creds, errNoTerminal
		}
		fmt.Fprintln(e.Sys.Stderr, "Not logged in to a funcX service yet: log in once, the credentials are cached.")
		creds, _, err = e.login(client.Credentials{ServiceURL: creds.ServiceURL, CAFile: creds.CAFile})
	case creds.ServiceURL == "" && e.Sys.Term == nil:
		err = errors.New("no service URL: set service_url in config.toml or " + client.EnvServiceURL + ", or run `funcx-endpoint login`")
	case creds.ServiceURL == "":
		creds.ServiceURL, err = e.Ask("Service URL", "", false, "", "")
	}
	return creds, err
}

// login logs in with what is given, asking for the rest, and says so.
func (e *env) login(given client.Credentials) (client.Credentials, *api.Identity, error) {
	creds, who, path, err := e.Login(cli.Login{Creds: given})
	if err != nil {
		return creds, nil, err
	}
	fmt.Fprintf(e.Sys.Stderr, "Logged in to %s as %s (%s); credentials saved in %s.\n", creds.ServiceURL, who.Name, who.ID, path)
	return creds, who, nil
}
