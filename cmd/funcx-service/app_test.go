package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from a running command.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = runApp(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, out, _ := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "funcx-service ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	db := "--db=" + filepath.Join(t.TempDir(), "s.db")

	code, out, errOut := run(t, db, "user", "add", "alice")
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	m := regexp.MustCompile(`export FUNCX_SDK_CLIENT_ID=(\S+) FUNCX_SDK_CLIENT_SECRET=(\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Store the secret now") {
		t.Fatalf("user add printed %q", out)
	}

	t.Run("duplicate", func(t *testing.T) {
		if code, _, errOut := run(t, db, "user", "add", "alice"); code != 1 || !strings.Contains(errOut, "already exists") {
			t.Fatalf("second alice: %d %q", code, errOut)
		}
	})
	t.Run("list", func(t *testing.T) {
		code, out, _ := run(t, db, "user", "list")
		if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, m[1]) || strings.Contains(out, m[2]) {
			t.Fatalf("user list: %d %q", code, out)
		}
	})
	t.Run("remove", func(t *testing.T) {
		if code, out, errOut := run(t, db, "user", "remove", m[1]); code != 0 || !strings.Contains(out, "removed") {
			t.Fatalf("user remove: %d %q %q", code, out, errOut)
		}
		if code, _, errOut := run(t, db, "user", "remove", "alice"); code != 1 || !strings.Contains(errOut, "not found") {
			t.Fatalf("second remove: %d %q", code, errOut)
		}
	})
	t.Run("bad usage", func(t *testing.T) {
		if code, _, _ := run(t, db, "user", "add"); code == 0 {
			t.Fatal("user add without a name succeeded")
		}
	})
}

func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- runApp(ctx, []string{"--db=" + filepath.Join(t.TempDir(), "s.db"), "--log-level=warn",
			"serve", "--listen=127.0.0.1:0", "--in-process-broker"}, &out, &errOut)
	}()
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("serve did not start: %q %q (exit %d)", out.String(), errOut.String(), <-done)
	}
	resp, err := http.Get(addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok\n" {
		t.Fatalf("healthz: %q", body)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	}
}

func TestServeRefusesBadLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ flag, want string }{
		{"--max-body-bytes-in-flight=1000", "MaxBodyBytesInFlight 1000 is less than MaxRequestBytes"},
		{"--body-timeout=-1s", "BodyTimeout -1s is negative"},
		{"--max-unauthenticated-per-client=-1", "MaxUnauthenticatedPerClient -1 is negative"},
	} {
		var out, errOut syncBuffer
		code := runApp(t.Context(), []string{"--db=" + filepath.Join(t.TempDir(), "s.db"), "serve", "--listen=127.0.0.1:0", "--in-process-broker", tc.flag}, &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want a refusal saying %q", tc.flag, code, errOut.String(), tc.want)
		}
	}
}

// Usage errors exit 2 (kong's default was 80); --help ends with the exit
// statuses.
func TestExitStatuses(t *testing.T) {
	t.Parallel()
	db := "--db=" + filepath.Join(t.TempDir(), "s.db")
	for _, args := range [][]string{{"explode"}, {}, {db, "user", "add"}, {"--log-level=loud", "version"}, {"serve", "--token-ttl=soon"}} {
		if code, _, stderr := run(t, args...); code != 2 || !strings.Contains(stderr, "funcx-service: error: ") {
			t.Errorf("%q: exit %d, %q; want 2", args, code, stderr)
		}
	}
	if code, out, _ := run(t, "--help"); code != 0 || !strings.Contains(out, "Exit status: 0 on success") || !strings.Contains(out, "2 on a usage error") {
		t.Errorf("--help: %d %q", code, out)
	}
}
