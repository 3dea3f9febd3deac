package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// `funcx endpoint status` shows the latest heartbeat's detail: the
// scheduler's last error right after the status, blocks by state, the
// blocks with a message and a routing table per manager; --json prints
// it all as the service returns it; `funcx endpoint list` marks the
// endpoint.
func TestEndpointStatusDetail(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{})
	at := time.Now().Add(-3 * time.Minute).UTC()
	msg := "submit block 1: sbatch: error: Batch job submission failed: Invalid account"
	detailed := api.EndpointStatus{
		Name: "cluster", Managers: 1, Workers: 4,
		Blocks:        map[string]int{"failed": 2, "running": 1},
		BlockError:    &api.BlockError{Message: msg, Time: at},
		BlockProblems: []api.BlockProblem{{Block: "1", State: "failed", Message: msg + "\nsecond line", Time: at}, {Block: "2", JobID: "77", State: "failed", ExitCode: 3, Message: "exit 3", Time: at}},
		Routing: &api.Routing{Total: api.RoutingFigures{WarmHits: 9, ColdStarts: 2, Switches: 1},
			Managers: []api.ManagerRouting{{Manager: "m-1", Block: "0", RoutingFigures: api.RoutingFigures{WarmHits: 9, ColdStarts: 2, Switches: 1},
				Containers: []api.ContainerWorkers{{Container: "apptainer:/img/a.sif", Workers: 3, Idle: 1}, {Container: "", Workers: 1}}}}},
		QuarantinedRecords: 2,
	}
	a := w.srv.AddEndpoint(detailed)
	plain := w.srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})

	t.Run("status", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "endpoint", "status", a)
		if r.code != 0 {
			t.Fatalf("got %+v", r)
		}
		lines := strings.Split(r.stdout, "\n")
		idx := func(prefix string) int {
			for i, l := range lines {
				if strings.HasPrefix(l, prefix) {
					return i
				}
			}
			t.Fatalf("no line starting %q in:\n%s", prefix, r.stdout)
			return -1
		}
		if e := idx("Last scheduler error:"); e != idx("Status:")+1 || !strings.Contains(lines[e], msg) || !strings.Contains(lines[e], "(3m") || !strings.HasSuffix(lines[e], " ago)") {
			t.Fatalf("scheduler error line %q, want it right after the status", lines[e])
		}
		if l := lines[idx("Blocks:")]; !strings.HasSuffix(l, "1 running, 2 failed") {
			t.Fatalf("blocks line %q", l)
		}
		if l := lines[idx("Damaged journal records:")]; !strings.Contains(l, " 2 (set aside, their tasks failed") {
			t.Fatalf("damaged records line %q", l)
		}
		if f := strings.Fields(lines[idx("BLOCK ")+1]); strings.Join(f[:4], " ") != "1 - - failed" || !strings.HasPrefix(f[4], "3m") || strings.Join(f[6:], " ") != msg+" second line" {
			t.Fatalf("first problem row %q", f)
		}
		if f := strings.Fields(lines[idx("BLOCK ")+2]); strings.Join(f[:6], " ") != "2 - 77 failed (exit 3)" {
			t.Fatalf("second problem row %q", f)
		}
		if l := lines[idx("Container routing:")]; l != "Container routing: 9 warm hits, 2 cold starts, 1 switches, 0 retired, 0 failed starts" {
			t.Fatalf("routing line %q", l)
		}
		if f := strings.Fields(lines[idx("MANAGER ")+1]); strings.Join(f, " ") != "m-1 0 9 2 1 apptainer:/img/a.sif 3/1, (none) 1/0" {
			t.Fatalf("manager row %q", f)
		}
	})
	t.Run("status without detail", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "endpoint", "status", plain)
		if r.code != 0 || strings.Contains(r.stdout, "scheduler") || strings.Contains(r.stdout, "Blocks") || strings.Contains(r.stdout, "routing") ||
			strings.Contains(r.stdout, "Damaged") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("json", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "endpoint", "status", "--json", a)
		var got api.EndpointStatus
		if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
			t.Fatalf("got %+v: %v", r, err)
		}
		if !reflect.DeepEqual(got.BlockError, detailed.BlockError) || !reflect.DeepEqual(got.Routing, detailed.Routing) || got.Blocks["failed"] != 2 {
			t.Fatalf("json: %+v", got)
		}
	})
	t.Run("list", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "endpoint", "list")
		if r.code != 0 || !strings.Contains(r.stderr, "funcx endpoint status ID") {
			t.Fatalf("got %+v", r)
		}
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			f := strings.Fields(l)
			if want := map[string]string{a: "block-error", plain: "-"}[f[0]]; f[6] != want {
				t.Fatalf("row %q: alert %q, want %q", l, f[6], want)
			}
		}
	})
}
