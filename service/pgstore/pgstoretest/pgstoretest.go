// Package pgstoretest gives tests PostgreSQL stores of their own, each in
// a fresh schema of the test database that scripts/start-services.sh
// starts (scripts/services/postgresql.sh), dropped when the test ends.
//
// Tests that need PostgreSQL skip under -short and fail, never skip,
// when it cannot be reached.
package pgstoretest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcx-go/funcx/service/pgstore"
)

// EnvURL names the environment variable with the test database's URL.
const EnvURL = "FUNCX_TEST_POSTGRES"

// DefaultURL is the test database that scripts/services/postgresql.sh
// creates, used when EnvURL is unset.
const DefaultURL = "postgres://funcx:funcx@127.0.0.1:5432/funcx_test?sslmode=disable"

var reach struct {
	once sync.Once
	err  error
}

// URL returns the test database's URL ($FUNCX_TEST_POSTGRES, or
// DefaultURL). It skips the test under -short and fails it if the
// database does not answer.
func URL(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs PostgreSQL (not under -short)")
	}
	url := cmp.Or(os.Getenv(EnvURL), DefaultURL)
	reach.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		reach.err = err
	})
	if reach.err != nil {
		tb.Fatalf("PostgreSQL at $%s (default %s): %v (run scripts/start-services.sh as root to install and start it)", EnvURL, DefaultURL, reach.err)
	}
	return url
}

// Schema returns the name of a new schema of the test database, dropped
// with everything in it when the test ends, after the cleanups
// registered later (closing the stores on it).
func Schema(tb testing.TB) string {
	tb.Helper()
	url := URL(tb)
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+name+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// Open opens a store on the test database in schema, with cfg's other
// settings (URL and Schema are set here); the test's cleanup closes it.
func Open(tb testing.TB, schema string, cfg pgstore.Config) *pgstore.Store {
	tb.Helper()
	cfg.URL, cfg.Schema = URL(tb), schema
	cfg.MaxConns = cmp.Or(cfg.MaxConns, 4)
	st, err := pgstore.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
