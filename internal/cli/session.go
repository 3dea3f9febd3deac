package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/tlsconf"
	"github.com/funcx-go/funcx/internal/tty"
)

// Session is what the commands of a CLI that talks to the service share:
// the process, the program's way of resolving credentials and of asking
// for them. The login, logout and whoami commands take it.
type Session struct {
	Ctx context.Context
	Sys *System
	// Name is the program's name, in messages.
	Name string
	// Debug, when it points at true, logs the SDK's requests to stderr.
	Debug *bool
	// AbsHome makes Home absolute (for a daemon, which runs in /).
	AbsHome bool
	// Credentials resolves what commands authenticate with.
	Credentials func() (client.Credentials, error)
	// LoginVerb begins the errors of a login: "log in" or "login".
	LoginVerb string
	// NoTerminal is the error when what a login needs must be asked for
	// and stdin is not a terminal: what is missing, and the flag and the
	// variable that give it.
	NoTerminal func(what, flag, envVar string) error
}

// Home is $FUNCX_HOME, else ~/.funcx.
func (s *Session) Home() (string, error) {
	h, err := client.Home(s.Sys.Getenv)
	if err != nil || !s.AbsHome {
		return h, err
	}
	return filepath.Abs(h)
}

// WithClient calls fn with a client for creds (logging its requests
// with --debug) and closes it after.
func (s *Session) WithClient(creds client.Credentials, fn func(*client.Client) error) error {
	cfg := creds.Config()
	if s.Debug != nil && *s.Debug {
		cfg.Logger = slog.New(slog.NewTextHandler(s.Sys.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// Ask prompts on the terminal, showing def as the answer taken on a bare
// Enter; without a terminal it returns NoTerminal's error.
func (s *Session) Ask(what, def string, secret bool, flag, envVar string) (string, error) {
	if s.Sys.Term == nil {
		return "", s.NoTerminal(what, flag, envVar)
	}
	v, err := tty.AskDefault(s.Ctx, s.Sys.Term, what, def, secret)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.LoginVerb, err)
	}
	return v, nil
}

// ServiceHint says what to do about the failures of commands that talk
// to the service: refused credentials (login is the command that logs
// in), an interruption, a service out of reach (unreachable says how to
// set its URL), a service certificate refused.
func ServiceHint(err error, login, unreachable string) string {
	var ue *url.Error
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		return "the service refused the credentials: run `" + login + "` again, or check " + client.EnvClientID + " and " + client.EnvClientSecret
	case errors.Is(err, client.ErrCertificate):
		return certificateHint(err, login)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &ue) && !errors.Is(err, context.DeadlineExceeded):
		return unreachable
	}
	return ""
}

// certificateHint says what to do about a service certificate the client
// refused (login is the command that logs in).
func certificateHint(err error, login string) string {
	if tlsconf.UnknownAuthority(err) {
		return "if a private CA signed the service's certificate, pass --ca-file FILE or set " + client.EnvCAFile +
			" to that CA's PEM certificate (`" + login + " --ca-file FILE` saves it with the credentials)"
	}
	return "check the host name of the service URL, and the service's certificate (funcx-service serve --tls-cert)"
}
