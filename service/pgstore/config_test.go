package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/service/pgstore"
	"github.com/funcx-go/funcx/service/pgstore/pgstoretest"
)

// Bad configurations are refused before anything connects, naming the
// setting, and a URL that does not parse is not echoed (it holds the
// password).
func TestOpenRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  pgstore.Config
		want string
	}{
		{pgstore.Config{}, "URL is required"},
		{pgstore.Config{URL: "postgres://u:s3cret@host:notaport/db"}, "not a PostgreSQL connection string"},
		{pgstore.Config{URL: "postgres://host/db", Schema: "Bad-Name"}, "Schema"},
		{pgstore.Config{URL: "postgres://host/db?search_path=a,b"}, "Schema \"a,b\""},
		{pgstore.Config{URL: "postgres://host/db", MaxConns: -1}, "MaxConns"},
	} {
		_, err := pgstore.Open(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%+v): %v, want an error saying %q", c.cfg, err, c.want)
		}
	}
}

// The URL's search_path names the schema when Config.Schema does not,
// and a database migrated by a newer program is refused.
func TestSchemaFromURLAndNewerRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := pgstoretest.Schema(t)
	url := pgstoretest.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	st, err := pgstore.Open(ctx, pgstore.Config{URL: url + sep + "search_path=" + schema})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Exec(ctx, `INSERT INTO `+schema+`.schema_migrations (version, applied_at) VALUES (999, 0)`); err != nil {
		t.Fatalf("the store's tables are not in %s: %v", schema, err)
	}
	st.Close()
	_, err = pgstore.Open(ctx, pgstore.Config{URL: url, Schema: schema})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}

// Replicas starting at once on a new schema migrate it once: all open.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	t.Parallel()
	schema, url := pgstoretest.Schema(t), pgstoretest.URL(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := pgstore.Open(context.Background(), pgstore.Config{URL: url, Schema: schema, MaxConns: 2})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
