package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/tlstest"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// httpsService serves the real service over HTTPS, with a certificate of
// ca for 127.0.0.1, until the test ends; it returns its URL and a client
// identity's credentials.
func httpsService(t *testing.T, ca *tlstest.CA) (url, id, secret string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(dir, "service.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, err := membroker.New(membroker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	certFile, keyFile := ca.Issue(t, "funcx-service", "127.0.0.1").Write(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	svc, err := service.New(service.Config{Store: st, Broker: b, TLSCertFile: certFile, TLSKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	if id, secret, err = svc.AddIdentity(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return "https://" + ln.Addr().String(), id, secret
}

// logLines collects a client's debug log.
type logLines struct{ strings.Builder }

func (l *logLines) Write(p []byte) (int, error) { return l.Builder.Write(p) }

// The SDK reaches an HTTPS service whose certificate a private CA signed
// once given that CA (Config.CAFile); without it, the call fails at
// once, without retries, with ErrCertificate naming the service and the
// way out.
func TestHTTPSPrivateCA(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "campus CA")
	url, id, secret := httpsService(t, ca)
	caFile := ca.WriteCA(t, t.TempDir(), "ca.pem")

	trusted, err := client.New(client.Config{ServiceURL: url, ClientID: id, ClientSecret: secret, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	defer trusted.Close()
	who, err := trusted.Whoami(context.Background())
	if err != nil || who.Name != "alice" {
		t.Fatalf("Whoami with the CA: %+v, %v", who, err)
	}

	var log logLines
	untrusted, err := client.New(client.Config{ServiceURL: url, ClientID: id, ClientSecret: secret,
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusted.Close()
	_, err = untrusted.Whoami(context.Background())
	if !errors.Is(err, client.ErrCertificate) {
		t.Fatalf("Whoami without the CA: %v, want ErrCertificate", err)
	}
	for _, want := range []string{url, "authority this machine does not trust", "Config.CAFile", client.EnvCAFile} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(log.String(), "retrying") {
		t.Errorf("a refused certificate was retried:\n%s", log.String())
	}

	// http:// to the HTTPS service: the service's 400, with the way out.
	plain, err := client.New(client.Config{ServiceURL: "http" + strings.TrimPrefix(url, "https"), ClientID: id, ClientSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.Whoami(context.Background()); err == nil || !strings.Contains(err.Error(), "use an https:// service URL") {
		t.Errorf("http:// to an HTTPS service: %v", err)
	}
}

// The other refusals of a certificate say what is wrong with it.
func TestCertificateErrors(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "campus CA")
	caFile := ca.WriteCA(t, t.TempDir(), "ca.pem")
	for _, tc := range []struct {
		name string
		cert *tlstest.Server
		want string
	}{
		{"wrong host", ca.Issue(t, "elsewhere", "funcx.example.org"), "not valid for 127.0.0.1 (it is for [funcx.example.org])"},
		{"expired", ca.IssueExpired(t, "old", "127.0.0.1"), "expired or is not valid yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewUnstartedServer(http.NotFoundHandler())
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{tc.cert.TLS(t)}}
			srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
			srv.StartTLS()
			t.Cleanup(srv.Close)
			c, err := client.New(client.Config{ServiceURL: srv.URL, Token: "t", CAFile: caFile})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Whoami(context.Background())
			if !errors.Is(err, client.ErrCertificate) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "CAFile") {
				t.Fatalf("Whoami: %v, want ErrCertificate saying %q", err, tc.want)
			}
		})
	}
	t.Run("https to plain HTTP", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		c, err := client.New(client.Config{ServiceURL: "https" + strings.TrimPrefix(srv.URL, "http"), Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Whoami(context.Background()); err == nil || !strings.Contains(err.Error(), "serves plain HTTP") {
			t.Fatalf("Whoami: %v", err)
		}
	})
}

func TestCAFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "key.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  client.Config
		want string
	}{
		{"missing", client.Config{CAFile: filepath.Join(dir, "none.pem")}, "none.pem"},
		{"no certificate", client.Config{CAFile: notPEM}, "holds no PEM certificate"},
		{"with HTTPClient", client.Config{CAFile: notPEM, HTTPClient: &http.Client{}}, "CAFile and HTTPClient"},
	} {
		tc.cfg.ServiceURL, tc.cfg.Token = "https://funcx.example.org", "t"
		if _, err := client.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
