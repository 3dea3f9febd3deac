package pgstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/pgstore"
	"github.com/funcx-go/funcx/service/pgstore/pgstoretest"
	"github.com/funcx-go/funcx/service/storetest"
)

// TestConformance runs the store conformance suite, each check in a
// schema of its own; Reopen opens another pool on it, as another replica
// would.
func TestConformance(t *testing.T) {
	t.Parallel()
	var schemas sync.Map // *pgstore.Store -> its schema
	openIn := func(t *testing.T, schema string) service.Store {
		st, err := pgstore.Open(context.Background(), pgstore.Config{URL: pgstoretest.URL(t), Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		schemas.Store(st, schema)
		return st
	}
	storetest.Run(t, storetest.Env{
		NewStore: func(t *testing.T) service.Store { return openIn(t, pgstoretest.Schema(t)) },
		Reopen: func(t *testing.T, st service.Store) service.Store {
			schema, _ := schemas.Load(st)
			return openIn(t, schema.(string))
		},
		Reroute: func(t *testing.T, st service.Store, id funcx.TaskID) {
			if err := st.(*pgstore.Store).Exec(context.Background(), `UPDATE tasks SET incarnation = incarnation + 1000 WHERE id = $1`, id.String()); err != nil {
				t.Fatal(err)
			}
		},
	})
}
