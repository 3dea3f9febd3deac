package sqlitestore_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service"
)

// EndpointIDs lists every owner's endpoints, and no deleted one.
func TestEndpointIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "s.db"))
	if ids, err := st.EndpointIDs(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("empty store: %v, %v", ids, err)
	}
	for _, owner := range []string{"a", "b"} {
		if err := st.CreateIdentity(ctx, service.IdentityRecord{Identity: service.Identity{ID: owner, Name: owner, ClientID: "c" + owner}, SecretHash: []byte{0}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []service.Endpoint{{ID: "e1", Owner: "a", Name: "x"}, {ID: "e2", Owner: "b", Name: "y"}, {ID: "e3", Owner: "a", Name: "z"}} {
		if _, err := st.RegisterEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.DeleteEndpoint(ctx, "e3", time.Now()); err != nil {
		t.Fatal(err)
	}
	ids, err := st.EndpointIDs(ctx)
	slices.Sort(ids)
	if err != nil || !slices.Equal(ids, []string{"e1", "e2"}) {
		t.Fatalf("EndpointIDs = %v, %v; want e1 e2", ids, err)
	}
}
