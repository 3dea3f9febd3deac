package client

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// maxRefreshMargin caps how long before expiry a token is renewed; tokens
// are renewed a quarter of their lifetime early, so short-lived tokens are
// not renewed on every request.
const maxRefreshMargin = 5 * time.Minute

// tokenSource hands out the bearer token: a fixed one, or one exchanged
// for client credentials and renewed before it expires.
type tokenSource struct {
	static string
	fetch  func(ctx context.Context) (*api.TokenResponse, error)
	now    func() time.Time

	// mu is held across a fetch so that concurrent requests wait for one
	// exchange instead of each starting their own.
	mu        sync.Mutex
	token     string
	refreshAt time.Time
}

// get returns a token that is not about to expire.
func (s *tokenSource) get(ctx context.Context) (string, error) {
	if s.static != "" {
		return s.static, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.refreshAt) {
		return s.token, nil
	}
	resp, err := s.fetch(ctx)
	if err != nil {
		return "", fmt.Errorf("get a token for the client credentials: %w", err)
	}
	if resp.AccessToken == "" {
		return "", fmt.Errorf("get a token for the client credentials: the service answered no access_token")
	}
	lifetime := time.Duration(resp.ExpiresIn) * time.Second
	s.token = resp.AccessToken
	s.refreshAt = s.now().Add(lifetime - min(lifetime/4, maxRefreshMargin))
	return s.token, nil
}

// invalidate drops token after the service refused it, unless another
// request has already replaced it. It reports whether a retry with a
// fresh token makes sense.
func (s *tokenSource) invalidate(token string) bool {
	if s.static != "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
	return true
}

// fetchToken exchanges the client credentials for a token.
func (c *Client) fetchToken(ctx context.Context) (*api.TokenResponse, error) {
	req := api.TokenRequest{GrantType: api.GrantClientCred, ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret}
	var resp api.TokenResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: api.PathToken, in: req, out: &resp, noAuth: true, idempotent: true}); err != nil {
		return nil, err
	}
	return &resp, nil
}
