package service_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

// serveReal serves the bundle's handler on a real loopback server (read
// deadlines need a real connection).
func serveReal(t *testing.T, b *bundle) string {
	t.Helper()
	srv := httptest.NewServer(b.svc.Handler())
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// trickle sends a request's head, then its body one byte every 20ms until
// the service answers, and returns the answer. It fails the test if no
// answer comes within a minute: the service held the connection.
func trickle(t *testing.T, addr, head string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	})
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestBodyTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.BodyTimeout = 200 * time.Millisecond })
	addr := serveReal(t, b)
	post := func(path, auth, framing string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: funcx\r\nContent-Type: application/json\r\n" + auth + framing + "\r\n"
	}
	bearer := "Authorization: Bearer " + b.alice.token + "\r\n"

	for _, tc := range []struct{ name, head string }{
		{"submission", post(api.PathTasks, bearer, "Content-Length: 100000\r\n")},
		{"submission, chunked", post(api.PathTasks, bearer, "Transfer-Encoding: chunked\r\n") + "100000\r\n"},
		{"token request", post(api.PathToken, "", "Content-Length: 1000\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := trickle(t, addr, tc.head)
			if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(body, "did not arrive within 200ms") {
				t.Fatalf("%d %s, want 408 saying the body did not arrive within 200ms", resp.StatusCode, body)
			}
			if !resp.Close {
				t.Errorf("the connection is kept open after a cut-off body")
			}
		})
	}
	t.Run("refused before its body is read", func(t *testing.T) {
		t.Parallel()
		// A bad token is answered at once, and the connection closed
		// rather than the rest of the body waited for.
		resp, body := trickle(t, addr, post(api.PathTasks, "Authorization: Bearer nope\r\n", "Content-Length: 100000\r\n"))
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Fatalf("%d (close %v) %s, want 401 and the connection closed", resp.StatusCode, resp.Close, body)
		}
	})
}

// slowTasks is a store whose Tasks answers only after a pause, for a
// handler that outlasts BodyTimeout after reading its body.
type slowTasks struct{ service.Store }

func (s slowTasks) Tasks(ctx context.Context, owner string, ids []funcx.TaskID) ([]service.TaskRecord, error) {
	select {
	case <-time.After(500 * time.Millisecond):
	case <-ctx.Done():
		return nil, fmt.Errorf("slowTasks: %w", ctx.Err())
	}
	return s.Store.Tasks(ctx, owner, ids)
}

// TestBodyTimeoutSparesSlowAnswers: the deadline is on the body, not the
// request: a long poll (no body) and a handler that works long after
// reading its body both answer.
func TestBodyTimeoutSparesSlowAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) {
		c.BodyTimeout = 100 * time.Millisecond
		c.Store = slowTasks{c.Store}
	})
	cl := &http.Client{Timeout: time.Minute}
	base := "http://" + serveReal(t, b)
	t.Cleanup(cl.CloseIdleConnections)
	send := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+b.alice.token)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	if code, body := send("GET", api.PathResults+"?wait=400ms", ""); code != http.StatusOK {
		t.Errorf("long poll: %d %s", code, body)
	}
	if code, body := send("POST", api.PathTaskStatus, `{"task_ids":["`+funcx.NewTaskID().String()+`"]}`); code != http.StatusOK {
		t.Errorf("slow status request: %d %s", code, body)
	}
}

// holdRequest serves req in the background with a body the test feeds;
// it returns once the handler has read the first byte, and a func that
// sends the rest and returns the answer.
func holdRequest(t *testing.T, b *bundle, method, path, token, remote, body string, length int64) func() *httptest.ResponseRecorder {
	t.Helper()
	pr, pw := io.Pipe()
	req := httptest.NewRequest(method, path, pr)
	req.ContentLength = length
	req.RemoteAddr = remote
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.svc.Handler().ServeHTTP(rec, req)
	}()
	if _, err := pw.Write([]byte(body[:1])); err != nil {
		t.Fatalf("the handler did not read the body: %v", err)
	}
	finish := func() *httptest.ResponseRecorder {
		pw.Write([]byte(body[1:]))
		pw.Close()
		<-done
		return rec
	}
	t.Cleanup(func() { pw.Close(); <-done })
	return finish
}

// doFrom is bundle.do from a client address.
func (b *bundle) doFrom(remote, method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remote
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	b.svc.Handler().ServeHTTP(rec, req)
	return rec
}

func TestUnauthenticatedPerClient(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.MaxUnauthenticatedPerClient = 2 })
	creds := func(u user) string {
		j, _ := json.Marshal(api.TokenRequest{ClientID: u.clientID, ClientSecret: u.secret})
		return string(j)
	}

	for _, tc := range []struct{ name, a1, a2, a3, other string }{
		{"IPv4", "192.0.2.1:1000", "192.0.2.1:1001", "192.0.2.1:1002", "192.0.2.2:1000"},
		{"IPv6 /64", "[2001:db8::1]:1000", "[2001:db8::2]:1000", "[2001:db8::3]:1000", "[2001:db8:0:1::1]:1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Two slow token requests hold the client's two slots.
			held := []func() *httptest.ResponseRecorder{
				holdRequest(t, b, "POST", api.PathToken, "", tc.a1, creds(b.alice), -1),
				holdRequest(t, b, "POST", api.PathToken, "", tc.a2, creds(b.alice), -1),
			}
			for _, path := range []string{api.PathToken, api.PathWhoami} {
				rec := b.doFrom(tc.a3, map[string]string{api.PathToken: "POST", api.PathWhoami: "GET"}[path], path, b.bob.token, creds(b.bob))
				wantError(t, rec.Code, rec.Body.Bytes(), http.StatusTooManyRequests, "more than 2 requests at once")
				if ra := rec.Header().Get("Retry-After"); ra != "1" {
					t.Errorf("Retry-After %q, want 1", ra)
				}
			}
			// Another client is served meanwhile.
			if rec := b.doFrom(tc.other, "POST", api.PathToken, "", creds(b.bob)); rec.Code != http.StatusOK {
				t.Fatalf("another client: %d %s", rec.Code, rec.Body)
			}
			for _, finish := range held {
				if rec := finish(); rec.Code != http.StatusOK {
					t.Fatalf("held token request: %d %s", rec.Code, rec.Body)
				}
			}
			// The slots are free again.
			if rec := b.doFrom(tc.a3, "GET", api.PathWhoami, b.bob.token, ""); rec.Code != http.StatusOK {
				t.Fatalf("after the slow requests ended: %d %s", rec.Code, rec.Body)
			}
		})
	}

	t.Run("a checked token frees its slot", func(t *testing.T) {
		t.Parallel()
		const ip = "198.51.100.7"
		// Authenticated requests reading slow bodies hold no slot.
		for i := range 3 {
			holdRequest(t, b, "POST", api.PathTaskStatus, b.alice.token, fmt.Sprintf("%s:%d", ip, i), `{"task_ids":[]}`, -1)
		}
		if rec := b.doFrom(ip+":9", "GET", api.PathWhoami, b.alice.token, ""); rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}

func TestBodyBytesInFlight(t *testing.T) {
	t.Parallel()

	t.Run("503 when full", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *service.Config) {
			c.MaxRequestBytes = 1000
			c.MaxBodyBytesInFlight = 1000
			c.BodyQueueWait = 20 * time.Millisecond
		})
		body := `{"name":"f","kind":"go","go_name":"f"}`
		body += strings.Repeat(" ", 1000-len(body))
		finish := holdRequest(t, b, "POST", api.PathFunctions, b.alice.token, "192.0.2.1:1", body, 1000)
		if used, _ := b.svc.BodyBytesInFlight(); used != 1000 {
			t.Fatalf("%d bytes in flight, want the held request's 1000", used)
		}
		rec := b.doFrom("192.0.2.2:1", "POST", api.PathFunctions, b.alice.token, `{"name":"g","kind":"go","go_name":"g"}`)
		wantError(t, rec.Code, rec.Body.Bytes(), http.StatusServiceUnavailable, "no room for 38 more")
		if ra := rec.Header().Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
		if rec := finish(); rec.Code != http.StatusOK {
			t.Fatalf("held request: %d %s", rec.Code, rec.Body)
		}
		if rec := b.doFrom("192.0.2.2:1", "POST", api.PathFunctions, b.alice.token, `{"name":"g","kind":"go","go_name":"g"}`); rec.Code != http.StatusOK {
			t.Fatalf("after the held request: %d %s", rec.Code, rec.Body)
		}
		if used, _ := b.svc.BodyBytesInFlight(); used != 0 {
			t.Fatalf("%d bytes in flight after every request ended", used)
		}
	})

	t.Run("never more than the bound", func(t *testing.T) {
		t.Parallel()
		const limit, bound = 200 << 10, 256 << 10
		b := setup(t, func(c *service.Config) {
			c.MaxRequestBytes = limit
			c.MaxBodyBytesInFlight = bound
			c.BodyQueueWait = 50 * time.Millisecond
		})
		var wg sync.WaitGroup
		codes := make(chan int, 32)
		for i := range cap(codes) {
			n := 16 + rand.IntN(limit-16)
			body := `{"task_ids":[]}` + strings.Repeat(" ", n-15)
			wg.Go(func() {
				// Half declare their length; the others are read as
				// they come, in small pieces (a chunked body).
				var rd io.Reader = strings.NewReader(body)
				if i%2 == 1 {
					rd = io.MultiReader(&smallReads{s: body})
				}
				req := httptest.NewRequest("POST", api.PathTaskStatus, rd)
				if i%2 == 1 {
					req.ContentLength = -1
				}
				req.RemoteAddr = fmt.Sprintf("192.0.2.%d:1", i)
				req.Header.Set("Authorization", "Bearer "+b.alice.token)
				rec := httptest.NewRecorder()
				b.svc.Handler().ServeHTTP(rec, req)
				codes <- rec.Code
			})
		}
		wg.Wait()
		close(codes)
		served := 0
		for code := range codes {
			switch code {
			case http.StatusOK:
				served++
			case http.StatusServiceUnavailable: // no room in time
			default:
				t.Errorf("status %d", code)
			}
		}
		used, peak := b.svc.BodyBytesInFlight()
		t.Logf("%d of %d served, peak %d bytes in flight", served, cap(codes), peak)
		if used != 0 || peak > bound || peak == 0 || served == 0 {
			t.Fatalf("%d bytes still in flight, peak %d (bound %d), %d served", used, peak, bound, served)
		}
	})
}

// smallReads yields s in pieces of at most 4 KiB, as a network would.
type smallReads struct{ s string }

func (r *smallReads) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 4096)], r.s)
	r.s = r.s[n:]
	return n, nil
}
