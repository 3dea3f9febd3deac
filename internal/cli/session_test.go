package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/internal/tlstest"
)

// session is a Session on an empty home, without a terminal.
func session(t *testing.T) *Session {
	t.Helper()
	home := t.TempDir()
	return &Session{Ctx: context.Background(), Name: "prog", LoginVerb: "login",
		Sys: &System{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string {
			if k == client.EnvHome {
				return home
			}
			return ""
		}},
		NoTerminal: func(what, flag, envVar string) error {
			return fmt.Errorf("no terminal for %s (%s, %s)", what, flag, envVar)
		}}
}

// A login checks the credentials with the service before it saves
// them; what is missing is asked for, and without a terminal the
// program says how to give it.
func TestLogin(t *testing.T) {
	t.Parallel()
	srv := clienttest.NewServer(t, clienttest.Config{})
	s := session(t)
	creds := client.Credentials{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()}
	_, who, path, err := s.Login(Login{Creds: creds})
	if err != nil || who.ID != srv.Identity().ID {
		t.Fatalf("login: %+v, %v", who, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 || filepath.Base(path) != client.CredentialsFile {
		t.Fatalf("saved %s: %v, %v", path, st, err)
	}

	bad := session(t)
	creds.ClientSecret = "wrong"
	if _, _, path, err := bad.Login(Login{Creds: creds}); !errors.Is(err, client.ErrUnauthorized) || !strings.HasPrefix(err.Error(), "login: check the credentials with ") {
		t.Fatalf("wrong secret: %v (saved in %q)", err, path)
	}
	if home, _ := bad.Home(); fileExists(filepath.Join(home, client.CredentialsFile)) {
		t.Fatal("refused credentials were saved")
	}

	_, _, _, err = session(t).Login(Login{Creds: client.Credentials{ServiceURL: srv.URL}})
	if err == nil || err.Error() != "no terminal for Client ID (--client-id, "+client.EnvClientID+")" {
		t.Fatalf("no client ID, no terminal: %v", err)
	}
	tokenRead := false
	_, _, _, err = session(t).Login(Login{Creds: client.Credentials{ServiceURL: srv.URL},
		Token: func() (string, error) { tokenRead = true; return "", errors.New("no token") }})
	if !tokenRead || err == nil || err.Error() != "no token" {
		t.Fatalf("token login: %v (token read: %v)", err, tokenRead)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestServiceHint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", client.ErrUnauthorized), "run `prog login` again"},
		{fmt.Errorf("x: %w", context.Canceled), "interrupted"},
		{&url.Error{Op: "Get", URL: "http://x", Err: errors.New("refused")}, "check the URL"},
		{&url.Error{Op: "Get", URL: "http://x", Err: context.DeadlineExceeded}, ""},
		{errors.New("other"), ""},
		{fmt.Errorf("%w: x: %w", client.ErrCertificate, x509.UnknownAuthorityError{}), "pass --ca-file FILE or set " + client.EnvCAFile},
		{fmt.Errorf("%w: x: %w", client.ErrCertificate, x509.HostnameError{Host: "x"}), "check the host name of the service URL"},
	} {
		got := ServiceHint(tc.err, "prog login", "check the URL")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.err, got, tc.want)
		}
	}
}

// A login to an HTTPS service of a private CA checks the credentials
// trusting the CA file given and saves it, absolute, with them; a login
// again to the same service without one keeps it, to another drops it.
func TestLoginSavesTheCAFile(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "campus CA")
	srv := clienttest.NewServer(t, clienttest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "svc", "127.0.0.1", "localhost").TLS(t)}}})
	caFile := ca.WriteCA(t, t.TempDir(), "ca.pem")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, caFile)
	if err != nil {
		t.Fatal(err)
	}
	s := session(t)
	creds := client.Credentials{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()}
	if _, _, _, err := s.Login(Login{Creds: creds}); !errors.Is(err, client.ErrCertificate) {
		t.Fatalf("login without the CA: %v", err)
	}
	withCA := creds
	withCA.CAFile = rel
	if got, _, _, err := s.Login(Login{Creds: withCA}); err != nil || got.CAFile != caFile {
		t.Fatalf("login with the CA: %+v, %v; want CAFile %s", got, err, caFile)
	}
	got, _, path, err := s.Login(Login{Creds: creds})
	if err != nil || got.CAFile != caFile {
		t.Fatalf("login again: %+v, %v; want the saved CA file", got, err)
	}
	if saved, err := client.LoadCredentials(path); err != nil || saved.CAFile != caFile {
		t.Fatalf("saved %+v, %v", saved, err)
	}
	other := creds
	other.ServiceURL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	var ua x509.UnknownAuthorityError
	if _, _, _, err := s.Login(Login{Creds: other}); !errors.As(err, &ua) {
		t.Fatalf("login to another service kept the CA file: %v", err)
	}
}
