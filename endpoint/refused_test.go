package endpoint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/internal/journal"
	"github.com/funcx-go/funcx/service/api"
)

// A delivery holding one task the engine cannot run (here: damaged on its
// way, its function of no known kind). That task fails alone, at once,
// with InvalidTask; the others of its delivery run; the endpoint does not
// have to be restarted for any of them, and its journal is left empty.
// Before, the engine refused the whole delivery and its tasks waited,
// journaled, for the next start.
func TestLiveDeliveryFailsOnlyTheTaskThatCannotRun(t *testing.T) {
	t.Parallel()
	f := startFabric(t, inProcessBroker)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fn, err := f.cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "echo", Kind: "shell", Script: "echo {i}"})
	if err != nil {
		t.Fatal(err)
	}
	const bad = 1
	path := filepath.Join(t.TempDir(), "journal.db")
	stop := f.runEndpointWith(t, path, func(rc *endpoint.RunConfig) {
		dial := rc.Dial
		rc.Dial = func(ctx context.Context) (broker.EndpointConn, error) {
			conn, err := dial(ctx)
			if err != nil {
				return nil, err
			}
			return damaging(conn, []byte(fmt.Sprintf(`"i":%d`, bad))), nil
		}
	})
	ex := f.cl.Executor(f.endpointID)
	defer ex.Close()
	inputs := make([]any, 3)
	for i := range inputs {
		inputs[i] = map[string]int{"i": i}
	}
	futures, err := ex.Map(ctx, fn, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, fu := range futures {
		r, err := fu.Result(ctx)
		if i == bad {
			var te *funcx.TaskError
			if !errors.As(err, &te) || te.Kind != funcx.InvalidTask || !strings.Contains(te.Message, "the endpoint cannot run this task") {
				t.Errorf("damaged task: %v, want InvalidTask saying the endpoint cannot run it", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if got := string(r.Stdout()); got != fmt.Sprintf("%d\n", i) {
			t.Errorf("task %d: stdout %q", i, got)
		}
	}
	stop()

	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pending, perr := j.PendingTasks()
	if perr != nil || len(pending) > 0 {
		t.Errorf("journal after the run: %d tasks pending (%v), want none", len(pending), perr)
	}
}

// damagingConn gives the endpoint its deliveries with the function of each
// task whose arguments hold marker made one of no known kind.
type damagingConn struct {
	broker.EndpointConn
	out chan broker.Delivery
}

func damaging(conn broker.EndpointConn, marker []byte) broker.EndpointConn {
	c := &damagingConn{EndpointConn: conn, out: make(chan broker.Delivery)}
	go func() {
		defer close(c.out)
		for {
			var d broker.Delivery
			var ok bool
			select {
			case d, ok = <-conn.Deliveries():
				if !ok {
					return
				}
			case <-conn.Done():
				return
			}
			for i := range d.Tasks {
				if bytes.Contains(d.Tasks[i].Args, marker) {
					d.Tasks[i].Function.Kind = 99
				}
			}
			select {
			case c.out <- d:
			case <-conn.Done():
				return // unacked: the broker redelivers it
			}
		}
	}()
	return c
}

func (c *damagingConn) Deliveries() <-chan broker.Delivery { return c.out }
