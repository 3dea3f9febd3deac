package brokertest

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// The TLS listener of the local RabbitMQ, which scripts/start-services.sh
// adds beside the plain one, with a test CA and server certificate (for
// localhost, 127.0.0.1 and the host's name) it makes with openssl.
const (
	// RabbitMQTLSURL is its address, as a service hands it to endpoints
	// (rabbitmq.Config.EndpointURL).
	RabbitMQTLSURL = "amqps://localhost:5671"
	// RabbitMQTLSCAFile is the CA certificate that signed the
	// listener's certificate.
	RabbitMQTLSCAFile = "/etc/funcx-test/tls/ca.pem"
)

// RabbitMQTLS returns the address of the local RabbitMQ's TLS listener
// (scheme, host and port; $FUNCX_TEST_AMQPS_URL overrides
// RabbitMQTLSURL) and the CA file that signed its certificate
// ($FUNCX_TEST_AMQPS_CA_FILE overrides RabbitMQTLSCAFile). It fails the
// test unless the listener completes a TLS handshake verified with that
// CA. Call ShareRabbitMQ first.
func RabbitMQTLS(tb testing.TB) (amqpsURL, caFile string) {
	tb.Helper()
	amqpsURL = cmp.Or(os.Getenv("FUNCX_TEST_AMQPS_URL"), RabbitMQTLSURL)
	caFile = cmp.Or(os.Getenv("FUNCX_TEST_AMQPS_CA_FILE"), RabbitMQTLSCAFile)
	const fix = "run scripts/start-services.sh (as root): it adds RabbitMQ's TLS listener and makes its test CA"
	pem, err := os.ReadFile(caFile)
	if err != nil {
		tb.Fatalf("the CA of RabbitMQ's TLS listener: %v; %s", err, fix)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		tb.Fatalf("%s holds no PEM certificate; %s", caFile, fix)
	}
	u, err := url.Parse(amqpsURL)
	if err != nil || u.Scheme != "amqps" || u.Port() == "" {
		tb.Fatalf("FUNCX_TEST_AMQPS_URL %q: want amqps://host:port", amqpsURL)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", u.Host, &tls.Config{RootCAs: roots, ServerName: u.Hostname()})
	if err != nil {
		tb.Fatalf("RabbitMQ's TLS listener at %s: %v; %s", amqpsURL, err, fix)
	}
	conn.Close()
	return amqpsURL, caFile
}
