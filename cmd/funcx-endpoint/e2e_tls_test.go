package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/broker/rabbitmq"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/tlstest"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/worker"
)

// TLS end to end through the built binaries: funcx-service serves HTTPS
// with a certificate of a CA this test makes, and hands endpoints an
// amqps:// URL of RabbitMQ's TLS listener, whose certificate another CA
// signed (scripts/start-services.sh's). funcx-endpoint start without the
// service's CA fails saying to pass --ca-file; with it but without the
// broker's CA the daemon fails at once naming broker_ca_file; with both
// the endpoint runs tasks from funcx run and the SDK over TLS links
// only, and stops cleanly.
func TestEndpointOverTLS(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: needs RabbitMQ's TLS listener")
	}
	brokertest.ShareRabbitMQ(t)
	amqpsURL, brokerCA := brokertest.RabbitMQTLS(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "campus CA")
	certFile, keyFile := ca.Issue(t, "funcx-service", "127.0.0.1", "localhost").Write(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	serviceCA := ca.WriteCA(t, dir, "campus-ca.pem")

	w := startWorld(t, "--tls-cert="+certFile, "--tls-key="+keyFile, "--endpoint-amqp-url="+amqpsURL)
	if !strings.HasPrefix(w.serviceURL, "https://") {
		t.Fatalf("funcx-service serves %s", w.serviceURL)
	}
	w.configureWith(t, "max_workers_per_node = 2\nheartbeat_period = \"1s\"\nheartbeat_threshold = \"10s\"\n")

	o := w.run(t, "start")
	if o.code == 0 || !strings.Contains(o.stderr, w.serviceURL) || !strings.Contains(o.stderr, "authority this machine does not trust") ||
		!strings.Contains(o.stderr, "pass --ca-file FILE or set FUNCX_CA_FILE") {
		t.Fatalf("start without the service's CA: %+v", o)
	}

	// The service's CA did not sign RabbitMQ's certificate.
	withCA := *w
	withCA.env = append(slices.Clone(w.env), client.EnvCAFile+"="+serviceCA)
	started := time.Now()
	o = withCA.run(t, "start")
	if o.code == 0 || !strings.Contains(o.stderr, "the broker at "+amqpsURL+" is not trusted") || !strings.Contains(o.stderr, "broker_ca_file") {
		t.Fatalf("start without the broker's CA: %+v", o)
	}
	if took := time.Since(started); took > 45*time.Second { // the start timeout is 60s
		t.Errorf("a refused broker certificate failed start only after %s, not at once", took)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] == "Running" {
		t.Fatalf("after a failed start: %q", row)
	}

	appendConfig(t, w.profile(t), "broker_ca_file = \""+brokerCA+"\"\n")
	s := withCA.start(t)
	if got := withCA.funcxRun(t, s.endpointID, "echo", "over", "TLS"); got != "over TLS\n" {
		t.Fatalf("funcx run: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := client.New(client.Config{ServiceURL: w.serviceURL, ClientID: w.clientID, ClientSecret: w.secret, CAFile: serviceCA})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	echo, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "go", GoName: worker.NameEcho})
	if err != nil {
		t.Fatal(err)
	}
	ex := cl.Executor(s.endpointID)
	defer ex.Close()
	in := make([]any, 50)
	for i := range in {
		in[i] = i
	}
	futures, err := ex.Map(ctx, echo, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range futures {
		r, err := f.Result(ctx)
		var n int
		if err != nil || r.Output(&n) != nil || n != i {
			t.Fatalf("task %d: %v, %v", i, n, err)
		}
	}
	if conns := endpointConnections(t, s.endpointID); len(conns) == 0 || slices.Contains(conns, false) {
		t.Errorf("the endpoint's RabbitMQ connections, TLS or not: %v; want TLS only", conns)
	}

	if o := withCA.run(t, "stop"); o.code != 0 || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("stop: %+v", o)
	}
	if left := profile.RunProcesses(s.runID); len(left) > 0 {
		t.Fatalf("processes of the run outlive stop: %v", left)
	}
	// Its broker user and virtual host go with it.
	if o := withCA.run(t, "delete", "--yes", "default"); o.code != 0 {
		t.Fatalf("delete: %+v", o)
	}
}

// appendConfig appends lines to the profile's config.toml.
func appendConfig(t *testing.T, p *profile.Profile, lines string) {
	t.Helper()
	f, err := os.OpenFile(p.Path(profile.ConfigFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(lines); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// endpointConnections lists, for each connection of the endpoint's user
// to its virtual host, whether it is TLS, as RabbitMQ's management API
// says (the service's own connections there, as guest, are left out);
// it waits for the API to list one.
func endpointConnections(t *testing.T, endpointID string) []bool {
	t.Helper()
	url := "http://127.0.0.1:15672/api/vhosts/" + rabbitmq.DefaultVhostPrefix + endpointID + "/connections?columns=ssl,user"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("GET", url, nil)
		req.SetBasicAuth("guest", "guest")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var conns []struct {
			SSL  bool   `json:"ssl"`
			User string `json:"user"`
		}
		err = json.NewDecoder(resp.Body).Decode(&conns)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		var ssl []bool
		for _, c := range conns {
			if c.User != "guest" {
				ssl = append(ssl, c.SSL)
			}
		}
		if len(ssl) > 0 || time.Now().After(deadline) {
			http.DefaultClient.CloseIdleConnections()
			return ssl
		}
	}
}
