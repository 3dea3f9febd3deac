package endpoint_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker/brokertest"
	"github.com/funcx-go/funcx/internal/needs"
)

// rabbitmqctlPath finds rabbitmqctl: in /usr/sbin, often not on a test's
// PATH.
func rabbitmqctlPath() string {
	if bin, err := exec.LookPath("rabbitmqctl"); err == nil {
		return bin
	}
	return "/usr/sbin/rabbitmqctl"
}

// rabbitmqctl runs rabbitmqctl with args (as root, like the README's test
// command: it needs the node's Erlang cookie).
func rabbitmqctl(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, rabbitmqctlPath(), args...).CombinedOutput()
	if err != nil {
		t.Logf("rabbitmqctl %v: %v\n%s", args, err, out)
	}
	return err
}

// RabbitMQ stopped and started again in the middle of a run: the
// service's result consumer and publisher and the endpoint's link all
// reconnect, and every task (submitted before, during and after the
// outage) completes with exactly one recorded result.
//
// Not parallel, and it holds the machine-wide RabbitMQ lock exclusively:
// every other RabbitMQ test (of this package, of the other packages that
// `go test ./...` runs at the same time) holds it shared, so none of them
// sees the outage. Tests that do not take the lock see a broker outage of
// a few seconds and must reconnect, as a deployment would.
func TestRabbitMQOutageLosesNothing(t *testing.T) {
	needs.Services(t, needs.RabbitMQ)
	brokertest.OwnRabbitMQ(t)
	f := startFabric(t, newRabbitBroker)
	// Registered after startFabric's cleanups, so it runs before them:
	// they need RabbitMQ back to delete the endpoint's queues and user.
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := rabbitmqctl(t, "start_app"); err != nil {
				t.Errorf("restarting RabbitMQ after the test: %v (run: rabbitmqctl start_app)", err)
			}
		}
	})
	// Cleanups do not run if the test binary dies (a -timeout panic, a
	// kill): a guard in a session of its own starts RabbitMQ again after
	// a while all the same. The cleanup ends it, with its sleep.
	guard := exec.Command("sh", "-c", "sleep 300; exec "+rabbitmqctlPath()+" start_app")
	guard.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := guard.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-guard.Process.Pid, syscall.SIGKILL)
		_ = guard.Wait()
	})
	f.runEndpoint(t, filepath.Join(t.TempDir(), "journal.db"))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const n = 3000 // 5 ms each on 2 workers: at least 7.5 s of work
	fn, ex, futures := f.slowEchoes(ctx, t, n, 100)
	if err := rabbitmqctl(t, "stop_app"); err != nil {
		t.Fatalf("stop RabbitMQ: %v", err)
	}
	t.Logf("RabbitMQ stopped with %d of %d results in", countDone(futures), n)
	// Tasks submitted during the outage: the service holds the request
	// while its publisher redials, until RabbitMQ is back.
	for i := range n / 10 {
		futures = append(futures, ex.Submit(fn, n+i))
	}
	// Long enough for every connection to notice and retry at least once.
	time.Sleep(2 * time.Second)
	if err := rabbitmqctl(t, "start_app"); err != nil {
		t.Fatalf("start RabbitMQ: %v (run scripts/start-services.sh)", err)
	}
	restarted = true
	if err := rabbitmqctl(t, "await_startup"); err != nil {
		t.Fatalf("RabbitMQ did not start: %v", err)
	}
	// And tasks submitted after it.
	inputs := make([]any, n/10)
	for i := range inputs {
		inputs[i] = i
	}
	more, err := ex.Map(ctx, fn, inputs)
	if err != nil {
		t.Fatal(err)
	}
	futures = append(futures, more...)

	for i, fu := range futures {
		r, err := fu.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		want := i
		if i >= n+n/10 {
			want = i - n - n/10 // the inputs again
		}
		var out int
		if err := r.Output(&out); err != nil || out != want {
			t.Fatalf("task %d: output %d, %v; want %d", i, out, err, want)
		}
	}
	checkExactlyOnce(ctx, t, f.cl, futures)
}
