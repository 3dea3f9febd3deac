package sqlitestore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/funcx-go/funcx/service/sqlitestore"
)

// undo takes each migration back, for tests of what Open does to a
// database an older service left behind.
var undo = map[int]string{
	2: `ALTER TABLE endpoints DROP COLUMN hb_detail`,
	3: `DROP INDEX tasks_endpoint; ALTER TABLE tasks DROP COLUMN incarnation; ALTER TABLE endpoints DROP COLUMN incarnation;
		DROP TABLE sequences; DROP TABLE deleted_endpoints`,
}

// rewind takes the store's schema back to version to, keeping its rows.
func rewind(t *testing.T, st *sqlitestore.Store, to int) {
	t.Helper()
	for v := len(undo) + 1; v > to; v-- {
		stmt := fmt.Sprintf("%s; DELETE FROM schema_migrations WHERE version = %d", undo[v], v)
		if err := st.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("undo migration %d: %v", v, err)
		}
	}
}
