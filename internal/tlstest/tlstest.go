// Package tlstest makes throwaway certificate authorities and server
// certificates for tests of TLS: generated in memory (ECDSA P-256, so
// quickly), written as PEM files where a test needs files.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority that lives as long as a test.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA certificate in PEM form, what a client trusts.
	PEM []byte
}

// NewCA returns a new CA named name.
func NewCA(tb testing.TB, name string) *CA {
	tb.Helper()
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(tb),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("tlstest: create CA: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("tlstest: parse CA: %v", err)
	}
	return &CA{Cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Pool is a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// WriteCA writes the CA certificate to dir/name and returns its path.
func (ca *CA) WriteCA(tb testing.TB, dir, name string) string {
	tb.Helper()
	return write(tb, filepath.Join(dir, name), ca.PEM, 0o644)
}

// Server is a server certificate and its key.
type Server struct {
	Cert *x509.Certificate
	// CertPEM and KeyPEM are the certificate and its private key in PEM
	// form.
	CertPEM, KeyPEM []byte
}

// Issue returns a server certificate for hosts (DNS names or IP
// addresses) signed by the CA, with common name cn.
func (ca *CA) Issue(tb testing.TB, cn string, hosts ...string) *Server {
	tb.Helper()
	return ca.issue(tb, cn, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), hosts)
}

// IssueExpired returns a server certificate like Issue's that expired an
// hour ago.
func (ca *CA) IssueExpired(tb testing.TB, cn string, hosts ...string) *Server {
	tb.Helper()
	return ca.issue(tb, cn, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour), hosts)
}

func (ca *CA) issue(tb testing.TB, cn string, from, until time.Time, hosts []string) *Server {
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    from,
		NotAfter:     until,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatalf("tlstest: issue %s: %v", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("tlstest: parse %s: %v", cn, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("tlstest: marshal key: %v", err)
	}
	return &Server{Cert: cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}
}

// TLS is the certificate as a tls.Certificate, for a server in the
// test's own process.
func (s *Server) TLS(tb testing.TB) tls.Certificate {
	tb.Helper()
	c, err := tls.X509KeyPair(s.CertPEM, s.KeyPEM)
	if err != nil {
		tb.Fatalf("tlstest: key pair: %v", err)
	}
	return c
}

// Write writes the certificate and its key to certPath and keyPath
// (the key 0600) and returns them. It replaces existing files
// atomically, as a certificate renewal should.
func (s *Server) Write(tb testing.TB, certPath, keyPath string) (string, string) {
	tb.Helper()
	return write(tb, certPath, s.CertPEM, 0o644), write(tb, keyPath, s.KeyPEM, 0o600)
}

func write(tb testing.TB, path string, data []byte, mode os.FileMode) string {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		tb.Fatalf("tlstest: %v", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatalf("tlstest: %v", err)
	}
	return path
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("tlstest: key: %v", err)
	}
	return key
}

func serial(tb testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		tb.Fatalf("tlstest: serial: %v", err)
	}
	return n
}
