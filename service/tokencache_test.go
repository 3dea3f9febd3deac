package service_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

// tokenCountingStore counts the store's token lookups.
type tokenCountingStore struct {
	service.Store
	reads atomic.Int64
}

func (s *tokenCountingStore) TokenIdentity(ctx context.Context, hash []byte) (service.Identity, time.Time, error) {
	s.reads.Add(1)
	return s.Store.TokenIdentity(ctx, hash)
}

// A token is looked up in the store once per tokenTTL (2 s), not at every
// request: each lookup cost a SQLite read on the path of every
// submission and results poll. Expiry still holds at every request, and
// removing an identity ends its tokens at once.
func TestTokensAreRememberedBriefly(t *testing.T) {
	t.Parallel()
	var counting *tokenCountingStore
	b := setup(t, func(c *service.Config) {
		counting = &tokenCountingStore{Store: c.Store}
		c.Store = counting
	})
	u := b.newUser(t, "dora")
	before := counting.reads.Load()
	for range 20 {
		var who api.Identity
		b.mustDo(t, "GET", api.PathWhoami, u.token, nil, &who)
		if who.ID != u.id {
			t.Fatalf("whoami = %+v, want %s", who, u.id)
		}
	}
	if n := counting.reads.Load() - before; n != 0 {
		t.Errorf("20 requests right after the token's first use read it %d times from the store, want 0", n)
	}

	b.clock.Add(2 * time.Second) // past tokenTTL: read again, once
	for range 5 {
		b.mustDo(t, "GET", api.PathWhoami, u.token, nil, new(api.Identity))
	}
	if n := counting.reads.Load() - before; n != 1 {
		t.Errorf("after tokenTTL the token was read %d times, want 1", n)
	}

	b.clock.Add(service.DefaultTokenTTL) // the token itself expires
	code, data := b.do(t, "GET", api.PathWhoami, u.token, nil)
	wantError(t, code, data, http.StatusUnauthorized, "expired")

	// A fresh token, remembered, then its identity removed: refused at once.
	v := b.newUser(t, "erin")
	b.mustDo(t, "GET", api.PathWhoami, v.token, nil, new(api.Identity))
	if err := b.svc.RemoveIdentity(context.Background(), "erin"); err != nil {
		t.Fatal(err)
	}
	code, data = b.do(t, "GET", api.PathWhoami, v.token, nil)
	wantError(t, code, data, http.StatusUnauthorized, "invalid bearer token")
}
