package rabbitmq

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx/broker"
)

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{URL: "amqps://admin:s3cret@broker.example.org:5671/prod"}.WithDefaults()
	for _, tc := range []struct{ name, got, want string }{
		{"ManagementURL", c.ManagementURL, "http://broker.example.org:15672"},
		{"EndpointURL", c.EndpointURL, "amqps://broker.example.org:5671"},
		{"Vhost", c.Vhost, "prod"},
		{"ManagementUser", c.ManagementUser, "admin"},
		{"ManagementPassword", c.ManagementPassword, "s3cret"},
		{"ConnectionName", c.ConnectionName, DefaultConnectionName},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if err := c.validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	d := Config{}.WithDefaults()
	if d.URL != DefaultURL || d.Vhost != "/" || d.ManagementUser != "guest" || d.PublishChannels != DefaultPublishChannels ||
		d.VhostPrefix != DefaultVhostPrefix || d.EndpointMaxConnections != DefaultEndpointMaxConnections ||
		d.EndpointMaxChannels != DefaultEndpointMaxChannels || d.PoisonAfter != DefaultPoisonAfter {
		t.Errorf("zero Config defaults: %+v", d)
	}
	m := Config{ManagementURL: "https://ops:pw@mgmt:443"}.WithDefaults()
	if m.ManagementUser != "ops" || m.ManagementPassword != "pw" {
		t.Errorf("management credentials from ManagementURL: %q %q", m.ManagementUser, m.ManagementPassword)
	}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"scheme", Config{URL: "http://x:1"}, "URL"},
		{"management scheme", Config{ManagementURL: "amqp://x:1"}, "ManagementURL"},
		{"endpoint user info", Config{EndpointURL: "amqp://u:p@x:1"}, "EndpointURL"},
		{"endpoint vhost", Config{EndpointURL: "amqp://x:1/v"}, "EndpointURL"},
		{"no admin", Config{URL: "amqp://x:1"}, "ManagementUser"},
		{"vhost prefix", Config{VhostPrefix: "a/b"}, "VhostPrefix"},
		{"connection limit", Config{EndpointMaxConnections: -2}, "EndpointMaxConnections"},
		{"channel limit", Config{EndpointMaxChannels: -5}, "EndpointMaxChannels"},
		{"poison", Config{PoisonAfter: -1}, "PoisonAfter"},
		{"channels", Config{PublishChannels: 1000}, "PublishChannels"},
		{"prefetch", Config{ResultPrefetch: -1}, "ResultPrefetch"},
		{"max message", Config{MaxMessage: broker.DefaultMaxMessage + 1}, "MaxMessage"},
		{"timeout", Config{DialTimeout: -time.Second}, "DialTimeout"},
		{"retry", Config{RetryDelay: time.Minute}, "MaxRetryDelay"},
		{"reconnect", Config{ReconnectDelay: time.Minute}, "MaxReconnectDelay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("New(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
			}
			if strings.Contains(err.Error(), ":p@") {
				t.Errorf("error shows a password: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		cfg   EndpointConfig
		field string
	}{
		{EndpointConfig{Prefetch: 70000}, "Prefetch"},
		{EndpointConfig{MaxMessage: -1}, "MaxMessage"},
		{EndpointConfig{DialTimeout: -1}, "DialTimeout"},
	} {
		_, err := DialEndpoint(t.Context(), broker.Credentials{URL: "amqp://x:1"}, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("DialEndpoint(%+v) = %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, vhost, want string }{
		{"amqp://127.0.0.1:5672", "/", "amqp://funcx-ep-a:p%40ss@127.0.0.1:5672/%2F"},
		{"amqps://b.example.org:5671", "prod", "amqps://funcx-ep-a:p%40ss@b.example.org:5671/prod"},
	} {
		got := endpointURL(tc.base, "funcx-ep-a", "p@ss", tc.vhost)
		if got != tc.want {
			t.Errorf("endpointURL(%s, %s) = %s, want %s", tc.base, tc.vhost, got, tc.want)
		}
		u, err := amqp.ParseURI(got)
		if err != nil || u.Vhost != tc.vhost || u.Password != "p@ss" {
			t.Errorf("amqp091 reads %s as %+v, %v", got, u, err)
		}
	}
}

// An endpoint's user may configure nothing, read its task queue only and
// write its results exchange only.
func TestEndpointPermissions(t *testing.T) {
	t.Parallel()
	p := endpointPermissions("ep-1")
	if p.Configure != "" {
		t.Errorf("configure %q, want none", p.Configure)
	}
	for _, c := range []struct {
		what, re string
		allow    []string
	}{
		{"read", p.Read, []string{broker.TaskQueue("ep-1")}},
		{"write", p.Write, []string{broker.ResultExchange("ep-1")}},
	} {
		re := regexp.MustCompile(c.re)
		for _, name := range []string{broker.TaskQueue("ep-1"), broker.ResultExchange("ep-1"), broker.TaskQueue("ep-10"),
			broker.TaskQueue("ep-2"), broker.ResultExchange("ep-2"), broker.TaskExchange, "", "amq.default", "x" + broker.TaskQueue("ep-1")} {
			if want := slices.Contains(c.allow, name); re.MatchString(name) != want {
				t.Errorf("%s %q matches %q: %v, want %v", c.what, c.re, name, !want, want)
			}
		}
	}
}

// TestDialTLS checks that amqps:// goes through TLS with the configured
// roots: against a TLS listener that is no broker, trusted roots get past
// the handshake (and fail at AMQP), untrusted ones fail at the
// certificate.
func TestDialTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().(*net.TCPAddr)
	url := "amqps://u:p@127.0.0.1:" + strconv.Itoa(addr.Port) + "/"
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := dial(ctx, dialConfig{url: url, tls: &tls.Config{RootCAs: roots}, timeout: time.Second})
	var certErr *tls.CertificateVerificationError
	if err == nil || errors.As(err, &certErr) {
		t.Errorf("trusted roots: %v, want an AMQP handshake error", err)
	}
	_, err = dial(ctx, dialConfig{url: url, tls: &tls.Config{RootCAs: x509.NewCertPool()}, timeout: 5 * time.Second})
	if !errors.As(err, &certErr) {
		t.Errorf("untrusted roots: %v, want a certificate verification error", err)
	}
}
