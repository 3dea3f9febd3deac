// Package tlsconf builds the TLS client configuration of funcX clients
// (the SDK, the CLIs, the endpoint's broker link) from a private CA's
// certificate file, and explains verification failures in words that
// say what to check.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxCAFileBytes bounds a CA file: a bundle of a few hundred certificates.
const MaxCAFileBytes = 4 << 20

// Roots returns the system's trusted roots plus every certificate of the
// PEM file caFile (a private CA, or a bundle of them). A file that cannot
// be read or holds no certificate is an error that names it.
func Roots(caFile string) (*x509.CertPool, error) {
	f, err := os.Open(caFile)
	if err != nil {
		return nil, fmt.Errorf("read the CA file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCAFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the CA file %s: %w", caFile, err)
	}
	if len(data) > MaxCAFileBytes {
		return nil, fmt.Errorf("CA file %s is larger than %d bytes: give the PEM certificate of the CA", caFile, MaxCAFileBytes)
	}
	certs, err := parseCerts(data)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", caFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		// No system roots (a minimal container): the CA file alone.
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// parseCerts returns the certificates of PEM data, refusing data with
// none or with a certificate that does not parse.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue // a bundle may carry comments or keys; only certificates count
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA's certificate in PEM form")
	}
	return certs, nil
}

// Client returns a TLS client configuration that trusts the system's
// roots and caFile's certificates (see Roots).
func Client(caFile string) (*tls.Config, error) {
	roots, err := Roots(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// Problem names what went wrong when a server's certificate failed
// verification, and is "" for any other error.
func Problem(err error) string {
	var (
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &ua):
		return "its certificate is signed by an authority this machine does not trust"
	case errors.As(err, &he):
		return fmt.Sprintf("its certificate is not valid for %s (%s)", he.Host, hostnames(he.Certificate))
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return "its certificate has expired or is not valid yet (check the server's certificate and this machine's clock)"
	case errors.As(err, &ci):
		return "its certificate is not valid: " + ci.Error()
	}
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		return "its certificate failed verification"
	}
	return ""
}

// UnknownAuthority reports whether err is a certificate signed by an
// authority not trusted: the case a CA file mends.
func UnknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}

func hostnames(c *x509.Certificate) string {
	if c == nil {
		return "no certificate"
	}
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "it names no host"
	}
	return fmt.Sprintf("it is for %v", names)
}
