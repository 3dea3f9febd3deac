package client_test

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
)

func TestToken(t *testing.T) {
	t.Parallel()

	t.Run("fetched once for concurrent calls", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{}, nil)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := b.c.Whoami(b.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := b.srv.TokensIssued(); n != 1 {
			t.Fatalf("%d tokens fetched, want 1", n)
		}
	})

	t.Run("renewed before expiry", func(t *testing.T) {
		t.Parallel()
		srv := clienttest.NewServer(t, clienttest.Config{TokenLifetime: time.Hour})
		c := newClient(t, srv, nil)
		var now atomic.Int64
		now.Store(time.Now().UnixNano())
		client.SetNow(c, func() time.Time { return time.Unix(0, now.Load()) })
		ctx := t.Context()
		for range 3 {
			if _, err := c.Whoami(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if n := srv.TokensIssued(); n != 1 {
			t.Fatalf("%d tokens fetched before expiry, want 1", n)
		}
		// 56 minutes into a one-hour token, within the 5-minute margin:
		// renewed without a 401.
		now.Add(int64(56 * time.Minute))
		if _, err := c.Whoami(ctx); err != nil {
			t.Fatal(err)
		}
		if n, calls := srv.TokensIssued(), srv.Requests("GET /v1/whoami"); n != 2 || calls != 4 {
			t.Fatalf("%d tokens and %d calls, want 2 and 4 (no 401)", n, calls)
		}
	})

	t.Run("renewed once on 401", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{}, nil)
		b.srv.ExpireTokens()
		if _, err := b.c.Whoami(b.ctx); err != nil {
			t.Fatal(err)
		}
		if n, calls := b.srv.TokensIssued(), b.srv.Requests("GET /v1/whoami"); n != 2 || calls != 2 {
			t.Fatalf("%d tokens and %d calls, want 2 and 2", n, calls)
		}
	})

	t.Run("only once", func(t *testing.T) {
		t.Parallel()
		b := setup(t, clienttest.Config{}, nil)
		b.srv.FailNext("GET /v1/whoami", 3, http.StatusUnauthorized, "unauthorized")
		_, err := b.c.Whoami(b.ctx)
		if !errors.Is(err, client.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if n, calls := b.srv.TokensIssued(), b.srv.Requests("GET /v1/whoami"); n != 2 || calls != 2 {
			t.Fatalf("%d tokens and %d calls, want 2 and 2", n, calls)
		}
	})

	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		srv := clienttest.NewServer(t, clienttest.Config{})
		c := newClient(t, srv, func(c *client.Config) { c.ClientSecret = "wrong" })
		_, err := c.Whoami(t.Context())
		var ae *client.APIError
		if !errors.Is(err, client.ErrUnauthorized) || !errors.As(err, &ae) || ae.Code != "unauthorized" {
			t.Fatalf("err = %v, want an unauthorized APIError", err)
		}
		if srv.Requests("GET /v1/whoami") != 0 {
			t.Fatal("called whoami without a token")
		}
	})

	t.Run("static token is not renewed", func(t *testing.T) {
		t.Parallel()
		srv := clienttest.NewServer(t, clienttest.Config{})
		srv.AddToken("static-token")
		c := newClient(t, srv, func(c *client.Config) { c.ClientID, c.ClientSecret, c.Token = "", "", "static-token" })
		if _, err := c.Whoami(t.Context()); err != nil {
			t.Fatal(err)
		}
		srv.ExpireTokens()
		if _, err := c.Whoami(t.Context()); !errors.Is(err, client.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if srv.TokensIssued() != 0 || srv.Requests("POST /v1/token") != 0 {
			t.Fatal("a static token was exchanged")
		}
	})
}
