package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/internal/tlstest"
)

// A bundle of CAs is trusted whole; the system's roots stay trusted.
func TestRoots(t *testing.T) {
	t.Parallel()
	a, b := tlstest.NewCA(t, "A"), tlstest.NewCA(t, "B")
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	data := append(append([]byte("# campus CAs\n"), a.PEM...), b.PEM...)
	if err := os.WriteFile(bundle, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Client(bundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, ca := range []*tlstest.CA{a, b} {
		srv := ca.Issue(t, "server", "127.0.0.1")
		if _, err := srv.Cert.Verify(x509VerifyOptions(cfg)); err != nil {
			t.Errorf("a certificate of CA %s: %v", ca.Cert.Subject.CommonName, err)
		}
	}
	for _, tc := range []struct{ name, content, want string }{
		{"empty", "", "holds no PEM certificate"},
		{"a key only", string(a.Issue(t, "s", "h").KeyPEM), "holds no PEM certificate"},
		{"broken certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 1:"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Roots(path); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file and saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := Roots(filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
}

// Problem explains verification failures of a real handshake, and
// nothing else.
func TestProblem(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "CA")
	handshake := func(srv *tlstest.Server, trust bool) error {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srv.TLS(t)}})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		served := make(chan struct{})
		go func() {
			defer close(served)
			if c, err := ln.Accept(); err == nil {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		defer func() { <-served }()
		cfg := &tls.Config{}
		if trust {
			cfg.RootCAs = ca.Pool()
		}
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	for _, tc := range []struct {
		name    string
		srv     *tlstest.Server
		trust   bool
		want    string
		unknown bool
	}{
		{"unknown authority", ca.Issue(t, "s", "127.0.0.1"), false, "authority this machine does not trust", true},
		{"wrong host", ca.Issue(t, "s", "example.org"), true, "not valid for 127.0.0.1 (it is for [example.org])", false},
		{"expired", ca.IssueExpired(t, "s", "127.0.0.1"), true, "expired", false},
	} {
		err := handshake(tc.srv, tc.trust)
		if p := Problem(err); !strings.Contains(p, tc.want) || UnknownAuthority(err) != tc.unknown {
			t.Errorf("%s: Problem(%v) = %q, UnknownAuthority %v; want %q, %v", tc.name, err, p, UnknownAuthority(err), tc.want, tc.unknown)
		}
	}
	if err := handshake(ca.Issue(t, "s", "127.0.0.1"), true); err != nil {
		t.Fatalf("a trusted handshake: %v", err)
	}
	if p := Problem(errors.New("connection refused")); p != "" {
		t.Errorf("Problem of another error: %q", p)
	}
}

// FuzzParseCerts: a CA file of any bytes is parsed or refused, never a
// panic, and a success holds certificates.
func FuzzParseCerts(f *testing.F) {
	ca := tlstest.NewCA(f, "CA")
	f.Add(ca.PEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("junk"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := parseCerts(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		for _, c := range certs {
			if c == nil {
				t.Fatal("nil certificate")
			}
		}
	})
}

func x509VerifyOptions(cfg *tls.Config) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: cfg.RootCAs}
}
