package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

// VerifyTimeout bounds the whoami that checks new credentials.
const VerifyTimeout = 30 * time.Second

// Login is what a login is given.
type Login struct {
	// Creds are the credentials given; empty fields are asked for, but
	// for CAFile (a private CA's PEM file: --ca-file, $FUNCX_CA_FILE),
	// which defaults to the saved one if the service is the same.
	Creds client.Credentials
	// Token, if set, reads a bearer token to log in with, in place of a
	// client identity; it is called once the service URL is known.
	Token func() (string, error)
}

// Login asks for what l lacks (the service URL, suggesting the saved
// one, then a client ID and secret unless a token is read), checks the
// credentials with the service and saves them in the home's
// credentials.json (mode 0600). It returns them, who they belong to and
// where they were saved.
func (s *Session) Login(l Login) (client.Credentials, *api.Identity, string, error) {
	home, err := s.Home()
	if err != nil {
		return l.Creds, nil, "", err
	}
	path := filepath.Join(home, client.CredentialsFile)
	creds, err := s.complete(l, path)
	if err != nil {
		return creds, nil, "", err
	}
	ctx, cancel := context.WithTimeout(s.Ctx, VerifyTimeout)
	defer cancel()
	who, err := s.Whoami(ctx, creds)
	if err != nil {
		return creds, nil, "", fmt.Errorf("%s: check the credentials with %s: %w", s.LoginVerb, creds.ServiceURL, err)
	}
	if err := creds.Save(path); err != nil {
		return creds, nil, "", fmt.Errorf("%s: %w", s.LoginVerb, err)
	}
	return creds, who, path, nil
}

// complete fills in what l's credentials lack. A CA file given is made
// absolute (the saved credentials are used from any directory); none
// given, a login again to the same service keeps the saved one.
func (s *Session) complete(l Login, path string) (c client.Credentials, err error) {
	c = l.Creds
	saved, _ := client.LoadCredentials(path) // for the suggested URL and the CA file
	if c.ServiceURL == "" {
		if c.ServiceURL, err = s.Ask("Service URL", saved.ServiceURL, false, "--service-url", client.EnvServiceURL); err != nil {
			return c, err
		}
	}
	if c.CAFile != "" {
		if c.CAFile, err = filepath.Abs(c.CAFile); err != nil {
			return c, fmt.Errorf("%s: CA file: %w", s.LoginVerb, err)
		}
	} else if c.ServiceURL == saved.ServiceURL {
		c.CAFile = saved.CAFile
	}
	if l.Token != nil {
		c.Token, err = l.Token()
		return c, err
	}
	if c.ClientID == "" {
		if c.ClientID, err = s.Ask("Client ID", "", false, "--client-id", client.EnvClientID); err != nil {
			return c, err
		}
	}
	if c.ClientSecret == "" {
		c.ClientSecret, err = s.Ask("Client secret", "", true, "--client-secret", client.EnvClientSecret)
	}
	return c, err
}

// Whoami asks the service whom creds belong to.
func (s *Session) Whoami(ctx context.Context, creds client.Credentials) (who *api.Identity, err error) {
	err = s.WithClient(creds, func(c *client.Client) error {
		who, err = c.Whoami(ctx)
		return err
	})
	return who, err
}
