package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service/pgstore/pgstoretest"
)

// pgDB is the --db flag of a PostgreSQL schema of the test's own.
func pgDB(t *testing.T) string {
	t.Helper()
	schema := pgstoretest.Schema(t)
	u, err := url.Parse(pgstoretest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return "--db=" + u.String()
}

// --db with a postgres:// URL puts the user commands and serve on
// PostgreSQL: an identity added by one process gets a token from the
// serving one.
func TestPostgresDB(t *testing.T) {
	t.Parallel()
	db := pgDB(t)
	code, out, errOut := run(t, db, "user", "add", "alice")
	m := regexp.MustCompile(`export FUNCX_SDK_CLIENT_ID=(\S+) FUNCX_SDK_CLIENT_SECRET=(\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("user add: %d %q %q", code, out, errOut)
	}
	if code, out, _ := run(t, db, "user", "list"); code != 0 || !strings.Contains(out, m[1]) {
		t.Fatalf("user list: %d %q", code, out)
	}

	ctx, cancel := context.WithCancel(t.Context())
	var sout, serr syncBuffer
	done := make(chan int)
	go func() {
		done <- runApp(ctx, []string{db, "--log-level=warn", "serve", "--listen=127.0.0.1:0", "--in-process-broker"}, &sout, &serr)
	}()
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if mm := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sout.String()); mm != nil {
			addr = mm[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("serve did not start: %q %q (exit %d)", sout.String(), serr.String(), <-done)
	}
	resp, err := http.PostForm(addr+"/v1/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {m[1]}, "client_secret": {m[2]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if code := <-done; code != 0 || resp.StatusCode != http.StatusOK {
		t.Fatalf("token from the serving process: %d; serve exited %d: %s", resp.StatusCode, code, serr.String())
	}
}
