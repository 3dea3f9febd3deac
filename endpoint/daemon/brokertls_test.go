package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/tlstest"
	"github.com/funcx-go/funcx/service/api"
)

// broker_ca_file is relative to the profile, read before anything
// starts, and defaults to the service's CA file.
func TestBrokerCAFile(t *testing.T) {
	t.Parallel()
	p := newProfile(t)
	tlstest.NewCA(t, "broker CA").WriteCA(t, p.Dir(), "broker-ca.pem")
	own := filepath.Join(p.Dir(), "broker-ca.pem")
	for _, tc := range []struct {
		name, key, service, want, wantErr string
	}{
		{"relative to the profile", "broker-ca.pem", "/etc/service-ca.pem", own, ""},
		{"absolute", own, "", own, ""},
		{"the service's", "", own, own, ""},
		{"none", "", "", "", ""},
		{"missing", "nope.pem", "", "", "broker_ca_file of " + p.Path(profile.ConfigFile)},
		{"not a certificate", "config.toml", "", "", "holds no PEM certificate"},
		{"the service's, missing", "", "/nonexistent/ca.pem", "", "the CA file"},
	} {
		got, err := BrokerCAFile(p, profile.File{BrokerCAFile: tc.key}, tc.service)
		if got != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: %q, %v; want %q, an error saying %q", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
	if err := brokerCertError("amqps://x:5671", errors.New("connection refused")); err != nil {
		t.Errorf("brokerCertError of a refused connection: %v", err)
	}
}

// tlsListener accepts TLS connections with a certificate of a CA of its
// own and completes their handshakes, until the test ends.
func tlsListener(t *testing.T, ca *tlstest.CA) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "broker", "127.0.0.1").TLS(t)}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	})
	return ln.Addr().String()
}

// A broker whose certificate the daemon refuses fails the start at once,
// saying what to set, not at the start-up timeout: retrying does not
// mend it. Failed on the old code: it retried until the timeout.
func TestServeFailsAtOnceOnARefusedBrokerCertificate(t *testing.T) {
	t.Parallel()
	addr := tlsListener(t, tlstest.NewCA(t, "broker CA"))
	for _, tc := range []struct {
		name, caFile, want string
	}{
		{"system roots", "", "if a private CA signed it, set broker_ca_file"},
		{"another CA", tlstest.NewCA(t, "campus CA").WriteCA(t, t.TempDir(), "ca.pem"), "broker_ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProfile(t)
			h := Handoff{EndpointID: testEndpointID, BrokerCAFile: tc.caFile, Broker: api.BrokerCredentials{
				URL: "amqps://" + addr + "/", Username: "ep", Password: "pw", TaskQueue: "tasks", ResultExchange: "results"}}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := Serve(ctx, Config{Profile: p, Handoff: h, StartTimeout: 50 * time.Second})
			if err == nil || !strings.Contains(err.Error(), "the broker at amqps://"+addr+" is not trusted") ||
				!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "is not up after") {
				t.Fatalf("serve: %v", err)
			}
			if st, err := p.Status(); err != nil || st.State != profile.Stopped {
				t.Fatalf("after a refused certificate: %+v, %v", st, err)
			}
		})
	}
	// A bad CA file stops Serve before it dials.
	err := Serve(context.Background(), Config{Profile: newProfile(t), Handoff: Handoff{EndpointID: testEndpointID, BrokerCAFile: "/nonexistent/ca.pem",
		Broker: api.BrokerCredentials{URL: "amqps://" + addr + "/"}}})
	if err == nil || !strings.Contains(err.Error(), "the broker's CA file") {
		t.Fatalf("serve with a missing CA file: %v", err)
	}
}
