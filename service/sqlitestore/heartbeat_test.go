package sqlitestore_test

import (
	"context"
	"path/filepath"
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
