package sqlitestore_test

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

func withEndpoint(t *testing.T, st *sqlitestore.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: "a", Name: "a", ClientID: "ca"}, SecretHash: []byte{0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RegisterEndpoint(ctx, service.Endpoint{ID: "e1", Owner: "a", Name: "ep", RegisteredAt: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
}

// A heartbeat's detail is stored with it, survives a restart and is
// replaced, or cleared, by the next heartbeat.
func TestHeartbeatDetailPersists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st := open(t, path)
	withEndpoint(t, st)
	at := time.Unix(2000, 0).UTC()
	hb := service.Heartbeat{Time: time.Unix(3000, 0), Managers: 1, Workers: 2, Detail: broker.HeartbeatDetail{
		Blocks:        map[string]int{"failed": 2, "pending": 1},
		BlockError:    &broker.BlockError{Message: "submit block 2: sbatch: error: invalid account", Time: at},
		BlockProblems: []broker.BlockProblem{{Block: "2", State: "failed", Message: "submit block 2: sbatch: error: invalid account", Time: at}},
		Routing: &broker.Routing{Total: broker.RoutingFigures{WarmHits: 3, ColdStarts: 1},
			Managers: []broker.ManagerRouting{{Manager: "m", RoutingFigures: broker.RoutingFigures{WarmHits: 3, ColdStarts: 1}}}},
	}}
	if err := st.RecordHeartbeat(ctx, "e1", hb); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = open(t, path)
	ep, err := st.Endpoint(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ep.Heartbeat.Detail, hb.Detail) || ep.Heartbeat.Workers != 2 {
		t.Fatalf("after reopen:\n got %+v\nwant %+v", ep.Heartbeat, hb)
	}
	if err := st.RecordHeartbeat(ctx, "e1", service.Heartbeat{Time: time.Unix(3030, 0), Workers: 5}); err != nil {
		t.Fatal(err)
	}
	eps, err := st.Endpoints(ctx, "a")
	if err != nil || len(eps) != 1 || eps[0].Heartbeat.Workers != 5 || !reflect.DeepEqual(eps[0].Heartbeat.Detail, broker.HeartbeatDetail{}) {
		t.Fatalf("a heartbeat without detail left %+v (%v)", eps, err)
	}
	if err := st.RecordHeartbeat(ctx, "nope", hb); err != service.ErrNotFound {
		t.Fatalf("unknown endpoint: %v", err)
	}
}

// A database made before the detail column gets it at Open (migration 2)
// and keeps its endpoints.
func TestHeartbeatDetailMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	st := open(t, path)
	withEndpoint(t, st)
	rewind(t, st, 1) // as an older service left it
	st.Close()
	st = open(t, path)
	ep, err := st.Endpoint(ctx, "e1")
	if err != nil || ep.Name != "ep" {
		t.Fatalf("after migrating: %+v %v", ep, err)
	}
	d := broker.HeartbeatDetail{Blocks: map[string]int{"running": 1}}
	if err := st.RecordHeartbeat(ctx, "e1", service.Heartbeat{Time: time.Unix(1, 0), Detail: d}); err != nil {
		t.Fatal(err)
	}
	if ep, err = st.Endpoint(ctx, "e1"); err != nil || ep.Heartbeat.Detail.Blocks["running"] != 1 {
		t.Fatalf("detail after migrating: %+v %v", ep.Heartbeat, err)
	}
}
