package service_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ok := service.Config{Store: b.store}
	for _, tc := range []struct {
		name   string
		change func(*service.Config)
		want   string
	}{
		{"no store", func(c *service.Config) { c.Store = nil }, "Config.Store is required"},
		{"negative TTL", func(c *service.Config) { c.TokenTTL = -time.Second }, "Config.TokenTTL -1s is negative"},
		{"negative period", func(c *service.Config) { c.HeartbeatPeriod = -1 }, "Config.HeartbeatPeriod"},
		{"limit above the API's", func(c *service.Config) { c.MaxTasksPerSubmit = api.MaxTasksPerSubmit + 1 }, "Config.MaxTasksPerSubmit 10001 is outside 1..10000"},
		{"wait above the API's", func(c *service.Config) { c.MaxWait = time.Hour }, "Config.MaxWait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tc.change(&cfg)
			if _, err := service.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("defaults on a copy", func(t *testing.T) {
		t.Parallel()
		d := ok.WithDefaults()
		if d.Listen != service.DefaultListen || d.TokenTTL != time.Hour || d.HeartbeatPeriod != 30*time.Second || d.MaxWait != api.MaxWait || d.Logger == nil {
			t.Fatalf("defaults %+v", d)
		}
		if ok.TokenTTL != 0 {
			t.Fatal("WithDefaults changed its receiver")
		}
	})
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("start twice, stop twice", func(t *testing.T) {
		t.Parallel()
		b := setup(t) // started
		if err := b.svc.Start(ctx); err == nil {
			t.Fatal("second Start succeeded")
		}
		if err := b.svc.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.Start(ctx); err == nil {
			t.Fatal("Start after Stop succeeded")
		}
	})
	t.Run("stop before start", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		svc, err := service.New(service.Config{Store: b.store, Broker: b.broker})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no broker: admin only", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		svc, err := service.New(service.Config{Store: b.store})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(ctx); err == nil || !strings.Contains(err.Error(), "Broker is required") {
			t.Fatalf("Start without a broker: %v", err)
		}
		if _, _, err := svc.AddIdentity(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		b.registerEndpoint(t, b.alice)
		if err := svc.RemoveIdentity(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "configure the broker") {
			t.Fatalf("RemoveIdentity without a broker: %v", err)
		}
	})
	t.Run("serve until cancelled", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		svc, err := service.New(service.Config{Store: b.store, Broker: newFakeBroker(), Listen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { done <- svc.Serve(sctx, ln) }()
		resp, err := http.Get("http://" + ln.Addr().String() + api.PathHealth)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
