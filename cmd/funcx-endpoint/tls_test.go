package main

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/tlstest"
)

// login --ca-file checks the credentials against an HTTPS service of a
// private CA and saves the CA file with them; later commands trust it
// without the flag, and logging in again to the same service keeps it.
func TestLoginSavesCAFile(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "campus CA")
	srv := clienttest.NewServer(t, clienttest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "svc", "127.0.0.1").TLS(t)}}})
	caFile := ca.WriteCA(t, t.TempDir(), "ca.pem")
	w := &world{srv: srv, home: t.TempDir()}
	w.env = map[string]string{"HOME": t.TempDir(), client.EnvHome: w.home, client.EnvServiceURL: srv.URL}
	login := []string{"login", "--client-id", srv.ClientID(), "--client-secret", srv.ClientSecret()}

	if r := w.run(t, login...); r.code != 1 || !strings.Contains(r.stderr, "pass --ca-file FILE") {
		t.Fatalf("login without the CA: %+v", r)
	}
	if r := w.run(t, append([]string{"--ca-file", caFile}, login...)...); r.code != 0 {
		t.Fatalf("login --ca-file: %+v", r)
	}
	if r := w.run(t, "whoami"); r.code != 0 {
		t.Fatalf("whoami after login --ca-file: %+v", r)
	}
	if r := w.run(t, login...); r.code != 0 {
		t.Fatalf("login again without --ca-file: %+v", r)
	}
	saved, err := client.LoadCredentials(filepath.Join(w.home, client.CredentialsFile))
	if err != nil || saved.CAFile != caFile {
		t.Fatalf("saved %+v, %v; want ca_file %s", saved, err, caFile)
	}
}

// start stops at a bad broker_ca_file before registering.
func TestStartRefusesABadBrokerCAFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.run(t, "configure")
	p := w.profile(t, "default")
	f, err := os.OpenFile(p.Path(profile.ConfigFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\nbroker_ca_file = \"nope.pem\"\n")
	if err = errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	if r := w.run(t, "start", "--foreground"); r.code != 1 || !strings.Contains(r.stderr, "broker_ca_file of") || !strings.Contains(r.stderr, "nope.pem") {
		t.Fatalf("start with a missing broker_ca_file: %+v", r)
	}
	if _, err := os.Stat(p.Path(profile.EndpointFile)); !os.IsNotExist(err) {
		t.Error("registered despite a bad broker_ca_file")
	}
}
