package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/profile"
)

// envChild makes the test binary a daemon that Spawn started (see
// serveAsChild); its value is the mode.
const envChild = "FUNCX_DAEMON_TEST_CHILD"

func TestMain(m *testing.M) {
	endpoint.ServeChildRole()
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(serveAsChild(mode, os.Args[len(os.Args)-1]))
	}
	// lumberjack v2.2.1 starts one goroutine per Logger that compresses
	// and prunes old logs, and Close does not end it (upstream issue
	// natefinch/lumberjack#56).
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}

// serveAsChild is the daemon of the Spawn tests, serving profile name of
// $FUNCX_HOME. Modes: "serve" serves with an in-process broker of its
// own; "unreachable" with a RabbitMQ nobody listens for, giving up after
// a second; "silent" dies without a report; "stubborn" and "lingering"
// only hold the daemon lock (see stubborn, lingering).
func serveAsChild(mode, name string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	p, err := profile.New(os.Getenv(client.EnvHome), name)
	if err == nil && os.Getenv(client.EnvClientSecret) != "" {
		err = errors.New("the daemon got the client secret")
	}
	if err == nil && mode == "stubborn" {
		return stubborn(p)
	}
	if err == nil && mode == "lingering" {
		return lingering(p)
	}
	if err != nil || mode == "silent" {
		fmt.Fprintln(os.Stderr, "boom: the child dies without a report:", err)
		return 3
	}
	cfg := Config{Profile: p}
	if mode == "unreachable" {
		cfg.StartTimeout = 1e9
	} else {
		b, err := membroker.New(membroker.Config{})
		if err != nil {
			return 4
		}
		defer b.Close()
		cfg.Dial = memDial(b)
	}
	if err := ServeChild(ctx, os.Stdin, cfg); err != nil {
		return 1
	}
	return 0
}

// memDial dials b as its endpoint of the handoff, whatever that is.
func memDial(b *membroker.Broker) endpoint.DialFunc {
	return func(ctx context.Context) (broker.EndpointConn, error) {
		creds, err := b.EnsureEndpoint(ctx, testEndpointID)
		if err != nil {
			return nil, err
		}
		return b.DialEndpoint(ctx, creds)
	}
}

// testEndpointID is the endpoint of every test.
const testEndpointID = "1e999502-b434-49a2-a2e0-d925383d2dd4"

// newProfile configures profile "default" in a fresh home, with no
// blocks (only the broker link and the journal run), registered as
// testEndpointID.
func newProfile(t *testing.T) *profile.Profile {
	t.Helper()
	p, err := profile.New(t.TempDir(), profile.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Create(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.Path(profile.ConfigFile), []byte("[provider]\ninit_blocks = 0\nmax_blocks = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.SaveRegistration(profile.Registration{EndpointID: testEndpointID}); err != nil {
		t.Fatal(err)
	}
	return p
}

// readLog returns endpoint.log.
func readLog(t *testing.T, p *profile.Profile) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Clean(p.Path(profile.LogFile)))
	return string(b)
}

// stubborn holds p's daemon lock and ignores SIGTERM until killed: a
// daemon stuck in its stop. It says "locked" on stdout once it holds it.
func stubborn(p *profile.Profile) int {
	signal.Ignore(syscall.SIGTERM)
	if _, err := p.AcquireDaemonLock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	select {}
}

// lingering holds p's daemon lock until SIGTERM, releases it as a clean
// stop does, and exits two seconds later: a daemon whose exit lags
// behind its lock. It says "locked" on stdout once it holds it.
func lingering(p *profile.Profile) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	lock, err := p.AcquireDaemonLock()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	<-term
	if err := lock.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	time.Sleep(2 * time.Second)
	return 0
}
