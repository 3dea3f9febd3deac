package service

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// certificate is the service's TLS certificate, read from
// Config.TLSCertFile and TLSKeyFile and swapped whole by reload:
// handshakes in progress keep the one they started with.
type certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// newCertificate reads the certificate and key files; it fails if they
// cannot be read or do not match.
func newCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	kp, err := c.read()
	if err != nil {
		return nil, err
	}
	c.cur.Store(kp)
	return c, nil
}

func (c *certificate) read() (*tls.Certificate, error) {
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	return &kp, nil
}

// get serves every handshake (tls.Config.GetCertificate).
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.cur.Load(), nil }

// notAfter is when the certificate served now expires.
func (c *certificate) notAfter() time.Time { return c.cur.Load().Leaf.NotAfter }

// serverConfig is the TLS configuration of the service's listener. It
// offers HTTP/1.1 only: the guards against hostile clients (guard.go)
// count and time requests per connection as HTTP/1.1 carries them.
func (c *certificate) serverConfig() *tls.Config {
	return &tls.Config{GetCertificate: c.get, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
}

// certAttrs describes a certificate for the log.
func certAttrs(kp *tls.Certificate) []any {
	l := kp.Leaf
	names := append([]string(nil), l.DNSNames...)
	for _, ip := range l.IPAddresses {
		names = append(names, ip.String())
	}
	return []any{"subject", l.Subject.String(), "names", names, "issuer", l.Issuer.String(), "not_after", l.NotAfter.UTC().Format(time.RFC3339)}
}

// ReloadTLS reads Config.TLSCertFile and TLSKeyFile again and serves the
// certificate they hold from the next TLS handshake on; connections
// already open keep theirs. If the files cannot be read or do not match
// (a renewal caught halfway), the service keeps serving the certificate
// it has, logs why and returns the error. Call it when the files change,
// as funcx-service serve does on SIGHUP. Without TLS it returns an error.
func (s *Service) ReloadTLS() error {
	if s.cert == nil {
		return fmt.Errorf("service: reload TLS: the service serves plain HTTP (Config.TLSCertFile is empty)")
	}
	kp, err := s.cert.read()
	if err != nil {
		s.log.Error("TLS certificate not reloaded: still serving the previous one", "err", err)
		return fmt.Errorf("service: reload TLS: %w", err)
	}
	s.cert.cur.Store(kp)
	s.log.Info("TLS certificate reloaded", certAttrs(kp)...)
	s.warnExpired(kp)
	return nil
}

// warnExpired logs a certificate that clients will refuse.
func (s *Service) warnExpired(kp *tls.Certificate) {
	if now := s.now(); now.After(kp.Leaf.NotAfter) {
		s.log.Warn("the TLS certificate has expired: clients will refuse it; renew it and reload (SIGHUP)", certAttrs(kp)...)
	}
}

// newCertMetric exports the certificate's expiry, for alerts before it
// comes.
func newCertMetric(c *certificate) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "funcx_service", Name: "tls_certificate_not_after_seconds",
		Help: "Expiry (Unix time) of the TLS certificate the service serves now."},
		func() float64 { return float64(c.notAfter().Unix()) })
}

// warnPlainHTTP warns when the API is served without TLS where others
// can reach it.
func warnPlainHTTP(log *slog.Logger, addr net.Addr) {
	a, ok := addr.(*net.TCPAddr)
	if !ok || a.IP.IsLoopback() {
		return // a Unix socket, or loopback: nothing crosses a network
	}
	log.Warn("serving plain HTTP on a non-loopback address: client secrets and bearer tokens cross the network unencrypted; "+
		"serve HTTPS (funcx-service serve --tls-cert and --tls-key; Config.TLSCertFile and TLSKeyFile) "+
		"unless a TLS-terminating proxy on a trusted network is in front", "addr", addr.String())
}
