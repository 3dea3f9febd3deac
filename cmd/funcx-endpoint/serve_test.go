package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/service/api"
)

// A daemon that cannot reach its broker gives up after the start-up
// timeout and says why; it leaves the profile Stopped, with nothing
// running.
func TestServeGivesUpWithTheBrokerError(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.run(t, "configure")
	p := w.profile(t, "default")
	// No blocks: only the broker is missing.
	if err := os.WriteFile(p.Path(profile.ConfigFile), []byte("[provider]\ninit_blocks = 0\nmax_blocks = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.SaveRegistration(profile.Registration{EndpointID: "1e999502-b434-49a2-a2e0-d925383d2dd4"}); err != nil {
		t.Fatal(err)
	}
	h := handoff{EndpointID: "1e999502-b434-49a2-a2e0-d925383d2dd4", Broker: api.BrokerCredentials{
		URL: "amqp://127.0.0.1:1/", Username: "ep", Password: "pw", TaskQueue: "tasks", ResultExchange: "results"}}
	var reported []error
	e := &env{ctx: context.Background(), sys: &system{stderr: &strings.Builder{}}, cli: &cli{}}
	err := e.serve(e.ctx, p, h, nil, 2*time.Second, func(err error) { reported = append(reported, err) })
	if err == nil || !strings.Contains(err.Error(), "is not up after 2s: cannot reach the broker") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("serve: %v", err)
	}
	if len(reported) == 0 || reported[0] == nil || reported[0].Error() != err.Error() {
		t.Fatalf("reported %v", reported)
	}
	if st, err := p.Status(); err != nil || st.State != profile.Stopped {
		t.Fatalf("after giving up: %+v, %v", st, err)
	}
	log, _ := os.ReadFile(p.Path(profile.LogFile))
	if !strings.Contains(string(log), "endpoint not up in time") {
		t.Fatalf("endpoint.log:\n%s", log)
	}
}
