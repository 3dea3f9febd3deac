package service_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/funcx-go/funcx/internal/tlstest"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

// logBuffer collects a service's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// served is a service serving on a listener of its own until the test
// ends.
type served struct {
	svc  *service.Service
	addr string
	log  *logBuffer
}

// serve serves a new service on the store of b at listen (host:port),
// configured by configure.
func serve(t *testing.T, b *bundle, listen string, configure func(*service.Config)) *served {
	t.Helper()
	s := &served{log: &logBuffer{}}
	cfg := service.Config{Store: b.store, Broker: newFakeBroker(), Logger: s.log.logger()}
	if configure != nil {
		configure(&cfg)
	}
	svc, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s.svc, s.addr = svc, ln.Addr().String()
	// Up once it answers: it logged what it logs at the start by then.
	_, port, _ := net.SplitHostPort(s.addr)
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	if code, _, err := get(t, &http.Client{Transport: tr}, scheme+"://127.0.0.1:"+port+api.PathHealth, ""); err != nil || code != 200 {
		t.Fatalf("the service does not answer: %d %v", code, err)
	}
	return s
}

// httpsClient trusts roots (nil: the system's) and closes its
// connections when the test ends.
func httpsClient(t *testing.T, roots *x509.CertPool) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(t *testing.T, c *http.Client, url, token string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// servedSerial is the serial number of the certificate a new connection
// to addr is served.
func servedSerial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// certFiles writes a certificate of ca for 127.0.0.1 into dir.
func certFiles(t *testing.T, ca *tlstest.CA, dir string) (certFile, keyFile string) {
	t.Helper()
	return ca.Issue(t, "funcx-service", "127.0.0.1", "localhost").Write(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
}

// With a certificate the service serves HTTPS only: a client that trusts
// its CA gets through, one that does not fails verification, and a
// plain HTTP request is refused.
func TestServeHTTPS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ca := tlstest.NewCA(t, "test CA")
	certFile, keyFile := certFiles(t, ca, t.TempDir())
	s := serve(t, b, "127.0.0.1:0", func(c *service.Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })

	code, body, err := get(t, httpsClient(t, ca.Pool()), "https://"+s.addr+api.PathHealth, "")
	if err != nil || code != 200 || body != "ok\n" {
		t.Fatalf("GET %s over HTTPS with the CA: %d %q %v", api.PathHealth, code, body, err)
	}
	_, _, err = get(t, httpsClient(t, nil), "https://"+s.addr+api.PathHealth, "")
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Fatalf("a client without the CA: %v, want an unknown authority", err)
	}
	code, body, err = get(t, httpsClient(t, nil), "http://"+s.addr+api.PathHealth, "")
	if err != nil || code != http.StatusBadRequest || !strings.Contains(body, "HTTPS") {
		t.Fatalf("plain HTTP to the HTTPS service: %d %q %v", code, body, err)
	}
	// HTTP/1.1 only: the guards against hostile clients count per connection.
	conn, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: ca.Pool(), NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("negotiated %q, want http/1.1", p)
	}
	conn.Close()
	if !strings.Contains(s.log.String(), "serving HTTPS") || strings.Contains(s.log.String(), "plain HTTP") {
		t.Errorf("log:\n%s", s.log)
	}
	if s.svc.TLSConfig() == nil {
		t.Error("TLSConfig is nil with a certificate")
	}
}

// ReloadTLS serves the files' new certificate from the next handshake;
// files that do not make a certificate (a renewal caught halfway) leave
// the old one served, logged.
func TestReloadTLS(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ca := tlstest.NewCA(t, "test CA")
	dir := t.TempDir()
	certFile, keyFile := certFiles(t, ca, dir)
	s := serve(t, b, "127.0.0.1:0", func(c *service.Config) {
		c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
		c.Registry = nil
	})
	first := servedSerial(t, s.addr, ca.Pool())

	next := ca.Issue(t, "funcx-service renewed", "127.0.0.1")
	next.Write(t, certFile, keyFile)
	if got := servedSerial(t, s.addr, ca.Pool()); got != first {
		t.Fatalf("the certificate changed before ReloadTLS: %s, was %s", got, first)
	}
	if err := s.svc.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if got, want := servedSerial(t, s.addr, ca.Pool()), next.Cert.SerialNumber.String(); got != want {
		t.Fatalf("after ReloadTLS: serial %s, want the new %s", got, want)
	}

	// Half a renewal: a new certificate beside the old key.
	if err := os.WriteFile(certFile, ca.Issue(t, "half", "127.0.0.1").CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	err := s.svc.ReloadTLS()
	if err == nil || !strings.Contains(err.Error(), certFile) {
		t.Fatalf("ReloadTLS of mismatched files: %v, want an error naming %s", err, certFile)
	}
	if got, want := servedSerial(t, s.addr, ca.Pool()), next.Cert.SerialNumber.String(); got != want {
		t.Fatalf("after a failed reload: serial %s, want the previous %s", got, want)
	}
	if log := s.log.String(); !strings.Contains(log, "TLS certificate not reloaded: still serving the previous one") ||
		!strings.Contains(log, "TLS certificate reloaded") {
		t.Errorf("log:\n%s", log)
	}

	plain := setup(t)
	if err := plain.svc.ReloadTLS(); err == nil || !strings.Contains(err.Error(), "plain HTTP") {
		t.Errorf("ReloadTLS without TLS: %v", err)
	}
}

func TestTLSConfigRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ca := tlstest.NewCA(t, "test CA")
	dir := t.TempDir()
	certFile, keyFile := certFiles(t, ca, dir)
	other := ca.Issue(t, "other", "127.0.0.1")
	_, otherKey := other.Write(t, filepath.Join(dir, "other.pem"), filepath.Join(dir, "other-key.pem"))
	for _, tc := range []struct {
		name, cert, key, want string
	}{
		{"cert without key", certFile, "", "set both"},
		{"key without cert", "", keyFile, "set both"},
		{"missing file", filepath.Join(dir, "nope.pem"), keyFile, "nope.pem"},
		{"key of another certificate", certFile, otherKey, "private key does not match public key"},
	} {
		_, err := service.New(service.Config{Store: b.store, TLSCertFile: tc.cert, TLSKeyFile: tc.key})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// Config.MetricsToken closes /metrics to requests without it; user
// tokens do not open it.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	const token = "fxm_metrics-secret"
	b := setup(t, func(c *service.Config) { c.MetricsToken = token })
	code, data := b.do(t, "GET", api.PathMetrics, "", nil)
	wantError(t, code, data, http.StatusUnauthorized, "metrics token")
	for _, bad := range []string{"wrong", token + "x", b.alice.token} {
		code, data := b.do(t, "GET", api.PathMetrics, bad, nil)
		wantError(t, code, data, http.StatusUnauthorized, "metrics token")
	}
	code, data = b.do(t, "GET", api.PathMetrics, token, nil)
	if code != 200 || !strings.Contains(string(data), "funcx_service_http_requests_total") {
		t.Fatalf("with the token: %d %.200s", code, data)
	}
	// Without a token configured /metrics stays open.
	open := setup(t)
	if code, data := open.do(t, "GET", api.PathMetrics, "", nil); code != 200 {
		t.Fatalf("without MetricsToken: %d %.200s", code, data)
	}
	if _, err := service.New(service.Config{Store: b.store, MetricsToken: "two words"}); err == nil || !strings.Contains(err.Error(), "MetricsToken") {
		t.Errorf("a token with a space: %v", err)
	}
}

// Plain HTTP where others can reach it is logged as a warning; loopback
// and HTTPS are not.
func TestPlainHTTPWarning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ca := tlstest.NewCA(t, "test CA")
	certFile, keyFile := certFiles(t, ca, t.TempDir())
	const warning = "serving plain HTTP on a non-loopback address"
	for _, tc := range []struct {
		name, listen string
		tls, warn    bool
	}{
		{"all interfaces", "0.0.0.0:0", false, true},
		{"loopback", "127.0.0.1:0", false, false},
		{"HTTPS on all interfaces", "0.0.0.0:0", true, false},
	} {
		s := serve(t, b, tc.listen, func(c *service.Config) {
			c.Registry = nil
			if tc.tls {
				c.TLSCertFile, c.TLSKeyFile = certFile, keyFile
			}
		})
		if got := strings.Contains(s.log.String(), warning); got != tc.warn {
			t.Errorf("%s: warned %v, want %v; log:\n%s", tc.name, got, tc.warn, s.log)
		}
	}
}
