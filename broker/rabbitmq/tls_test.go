package rabbitmq

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/brokertest"
)

// An endpoint's link over amqps:// to RabbitMQ's TLS listener: the
// service hands out the amqps:// URL (EndpointURL), the endpoint dials
// it trusting the listener's CA and carries tasks and results over TLS,
// which RabbitMQ reports; without the CA the dial fails at the
// certificate.
func TestEndpointOverTLS(t *testing.T) {
	t.Parallel()
	requireBroker(t)
	amqpsURL, caFile := brokertest.RabbitMQTLS(t)
	p := prefix(t, "tls")
	cfg := testConfig(p)
	cfg.EndpointURL = amqpsURL
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	id := p + "-ep"
	creds := setupEndpoint(t, s, id)
	if u, err := url.Parse(creds.URL); err != nil || u.Scheme+"://"+u.Host != amqpsURL {
		t.Fatalf("the service handed out %q, want an URL of %s", redact(creds.URL), amqpsURL)
	}

	_, err = DialEndpoint(t.Context(), creds, EndpointConfig{TLS: &tls.Config{RootCAs: x509.NewCertPool()}, DialTimeout: 10 * time.Second})
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) || !strings.Contains(err.Error(), "localhost:5671") {
		t.Fatalf("dial without the CA: %v, want an unknown authority naming the broker", err)
	}

	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	c, err := DialEndpoint(t.Context(), creds, EndpointConfig{TLS: &tls.Config{RootCAs: roots}, ConnectionName: p + "-tls"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	results := make(chan broker.Message, 16)
	consume(t, s, func(m broker.Message) { results <- m })
	roundTripTask(t, s, id, c, results)

	// RabbitMQ's side: the endpoint's connection is TLS.
	m := admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var conns []struct {
			SSL              bool `json:"ssl"`
			ClientProperties struct {
				ConnectionName string `json:"connection_name"`
			} `json:"client_properties"`
		}
		if err := m.do(ctx, http.MethodGet, path("connections"), nil, &conns, false); err != nil {
			t.Fatal(err)
		}
		for _, conn := range conns {
			if conn.ClientProperties.ConnectionName == p+"-tls" {
				if !conn.SSL {
					t.Fatal("RabbitMQ lists the endpoint's connection as not TLS")
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("the management API does not list the endpoint's connection")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
