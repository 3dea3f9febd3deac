package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

func TestToken(t *testing.T) {
	t.Parallel()
	b := setup(t)

	form := func(tb testing.TB, v url.Values, basicID, basicSecret string) (int, []byte) {
		req := httptest.NewRequest("POST", api.PathToken, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicID != "" {
			req.SetBasicAuth(basicID, basicSecret)
		}
		rec := httptest.NewRecorder()
		b.svc.Handler().ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	works := func(tb testing.TB, code int, data []byte) {
		tb.Helper()
		var tok api.TokenResponse
		if code != http.StatusOK || json.Unmarshal(data, &tok) != nil {
			tb.Fatalf("%d %s", code, data)
		}
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || !strings.HasPrefix(tok.AccessToken, "fxt_") {
			tb.Fatalf("token response %+v", tok)
		}
		var who api.Identity
		b.mustDo(tb, "GET", api.PathWhoami, tok.AccessToken, nil, &who)
		if who.Name != "alice" || who.ClientID != b.alice.clientID {
			tb.Fatalf("whoami %+v", who)
		}
	}

	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "POST", api.PathToken, "", api.TokenRequest{GrantType: api.GrantClientCred, ClientID: b.alice.clientID, ClientSecret: b.alice.secret})
		works(t, code, data)
	})
	t.Run("form", func(t *testing.T) {
		t.Parallel()
		code, data := form(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {b.alice.clientID}, "client_secret": {b.alice.secret}}, "", "")
		works(t, code, data)
	})
	t.Run("form with basic auth", func(t *testing.T) {
		t.Parallel()
		code, data := form(t, url.Values{"grant_type": {"client_credentials"}}, b.alice.clientID, b.alice.secret)
		works(t, code, data)
	})
	t.Run("wrong secret", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "POST", api.PathToken, "", api.TokenRequest{ClientID: b.alice.clientID, ClientSecret: b.bob.secret})
		wantError(t, code, data, http.StatusUnauthorized, "invalid client credentials")
	})
	t.Run("unknown client", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "POST", api.PathToken, "", api.TokenRequest{ClientID: "nobody", ClientSecret: "x"})
		wantError(t, code, data, http.StatusUnauthorized, "invalid client credentials")
	})
	t.Run("unsupported grant", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "POST", api.PathToken, "", api.TokenRequest{GrantType: "password", ClientID: b.alice.clientID, ClientSecret: b.alice.secret})
		wantError(t, code, data, http.StatusBadRequest, `grant_type "password" is not supported`)
	})
	t.Run("missing credentials", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "POST", api.PathToken, "", api.TokenRequest{})
		wantError(t, code, data, http.StatusBadRequest, "client_id and client_secret are required")
	})
	t.Run("missing token", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "GET", api.PathWhoami, "", nil)
		wantError(t, code, data, http.StatusUnauthorized, "missing bearer token")
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Parallel()
		code, data := b.do(t, "GET", api.PathEndpoints, "fxt_notatoken", nil)
		wantError(t, code, data, http.StatusUnauthorized, "invalid bearer token")
	})
}

func TestTokenExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *service.Config) { c.TokenTTL = time.Minute })
	b.mustDo(t, "GET", api.PathWhoami, b.alice.token, nil, nil)
	b.clock.Add(time.Minute + time.Second)
	code, data := b.do(t, "GET", api.PathWhoami, b.alice.token, nil)
	wantError(t, code, data, http.StatusUnauthorized, "bearer token expired 1s ago")

	// The sweeper deletes it; it is then simply unknown.
	b.svc.SweepNow(context.Background())
	code, data = b.do(t, "GET", api.PathWhoami, b.alice.token, nil)
	wantError(t, code, data, http.StatusUnauthorized, "invalid bearer token")
}

func TestIdentities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)

	t.Run("list", func(t *testing.T) {
		ids, err := b.svc.ListIdentities(ctx)
		if err != nil || len(ids) < 2 || ids[0].Name != "alice" || ids[1].Name != "bob" {
			t.Fatalf("ListIdentities = %+v, %v", ids, err)
		}
	})
	t.Run("duplicate name", func(t *testing.T) {
		if _, _, err := b.svc.AddIdentity(ctx, "alice"); err == nil {
			t.Fatal("a second alice was added")
		}
	})
	t.Run("bad names", func(t *testing.T) {
		for _, name := range []string{"", " x", "a\nb", strings.Repeat("x", 129)} {
			if _, _, err := b.svc.AddIdentity(ctx, name); err == nil {
				t.Errorf("AddIdentity(%q) succeeded", name)
			}
		}
	})
	t.Run("remove", func(t *testing.T) {
		u := b.newUser(t, "carol")
		ep := b.registerEndpoint(t, u)
		if err := b.svc.RemoveIdentity(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		code, data := b.do(t, "GET", api.PathWhoami, u.token, nil)
		wantError(t, code, data, http.StatusUnauthorized, "invalid bearer token")
		b.broker.mu.Lock()
		defer b.broker.mu.Unlock()
		if len(b.broker.deleted) != 1 || b.broker.deleted[0] != ep {
			t.Fatalf("broker deleted %v, want [%s]", b.broker.deleted, ep)
		}
	})
	t.Run("remove unknown", func(t *testing.T) {
		if err := b.svc.RemoveIdentity(ctx, "nobody"); err == nil {
			t.Fatal("removed nobody")
		}
	})
}
