package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/internal/tlstest"
)

// funcx against an HTTPS service whose certificate a private CA signed:
// without the CA it fails saying to pass --ca-file; with --ca-file,
// FUNCX_CA_FILE, or the CA file login saved, it works.
func TestPrivateCA(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "campus CA")
	cert := ca.Issue(t, "funcx-service", "127.0.0.1").TLS(t)
	w := newWorld(t, clienttest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	if !strings.HasPrefix(w.srv.URL, "https://") {
		t.Fatalf("service URL %s", w.srv.URL)
	}
	caFile := ca.WriteCA(t, t.TempDir(), "ca.pem")

	r := w.run(t, "whoami")
	if r.code != 1 || !strings.Contains(r.stderr, w.srv.URL) || !strings.Contains(r.stderr, "authority this machine does not trust") ||
		!strings.Contains(r.stderr, "pass --ca-file FILE or set "+client.EnvCAFile) || strings.Contains(r.stderr, "is the service up") {
		t.Fatalf("whoami without the CA: %+v", r)
	}
	if r := w.run(t, "--ca-file", caFile, "whoami"); r.code != 0 {
		t.Fatalf("whoami --ca-file: %+v", r)
	}
	withEnv := w.without()
	withEnv.env[client.EnvCAFile] = caFile
	if r := withEnv.run(t, "whoami"); r.code != 0 {
		t.Fatalf("whoami with %s: %+v", client.EnvCAFile, r)
	}

	// login --ca-file saves it (absolute) beside the service URL.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, caFile)
	if err != nil {
		t.Fatal(err)
	}
	if r := w.run(t, "login", "--ca-file", rel); r.code != 0 {
		t.Fatalf("login --ca-file: %+v", r)
	}
	saved, err := client.LoadCredentials(filepath.Join(w.home, client.CredentialsFile))
	if err != nil || saved.CAFile != caFile {
		t.Fatalf("saved credentials %+v, %v; want ca_file %s", saved, err, caFile)
	}
	loggedIn := w.without(client.EnvClientID, client.EnvClientSecret, client.EnvServiceURL)
	if r := loggedIn.run(t, "whoami"); r.code != 0 {
		t.Fatalf("whoami after login --ca-file: %+v", r)
	}
}
