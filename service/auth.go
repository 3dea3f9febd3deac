package service

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/funcx-go/funcx/service/api"
)

// Prefixes of the service's secrets, so that a leaked one is recognisable
// (and secret scanners can match it).
const (
	secretPrefix = "fxs_"
	tokenPrefix  = "fxt_"
)

// newSecret returns a random secret of 256 bits.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is what the store keeps of a secret or token. A plain SHA-256
// is enough: the secrets are 256 random bits, not passwords, so there is
// nothing for a slow hash to protect against brute force.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// handleToken exchanges client credentials for a bearer token. It takes
// a JSON TokenRequest or an OAuth2 form, with the credentials in the body
// or in HTTP basic auth.
func (s *Service) handleToken(w http.ResponseWriter, r *http.Request) error {
	req, err := s.decodeTokenRequest(w, r)
	if err != nil {
		return err
	}
	if req.GrantType != "" && req.GrantType != api.GrantClientCred {
		return badRequest("grant_type %q is not supported: use %q", req.GrantType, api.GrantClientCred)
	}
	if req.ClientID == "" || req.ClientSecret == "" {
		return badRequest("client_id and client_secret are required")
	}
	id, err := s.store.IdentityByClientID(r.Context(), req.ClientID)
	if errors.Is(err, ErrNotFound) {
		return unauthorized("invalid client credentials")
	}
	if err != nil {
		return fmt.Errorf("look up client: %w", err)
	}
	if subtle.ConstantTimeCompare(hashSecret(req.ClientSecret), id.SecretHash) != 1 {
		return unauthorized("invalid client credentials")
	}
	token := newSecret(tokenPrefix)
	now := s.now()
	err = s.store.CreateToken(r.Context(), Token{Hash: hashSecret(token), IdentityID: id.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.TokenTTL)})
	if err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, api.TokenResponse{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(s.cfg.TokenTTL.Seconds())})
	return nil
}

func (s *Service) decodeTokenRequest(w http.ResponseWriter, r *http.Request) (api.TokenRequest, error) {
	var req api.TokenRequest
	limit := min(s.cfg.MaxRequestBytes, maxTokenRequestBytes)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		body, err := s.readBody(w, r, limit)
		if err != nil {
			return req, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return req, badRequest("malformed form body: %v", err)
		}
		req = api.TokenRequest{GrantType: form.Get("grant_type"), ClientID: form.Get("client_id"), ClientSecret: form.Get("client_secret")}
	} else if err := s.decodeBody(w, r, &req, limit); err != nil {
		return req, err
	}
	if id, secret, ok := r.BasicAuth(); ok && req.ClientID == "" {
		req.ClientID, req.ClientSecret = id, secret
	}
	return req, nil
}

// authenticate returns the identity of the request's bearer token.
func (s *Service) authenticate(r *http.Request) (Identity, error) {
	token, ok := bearerToken(r)
	if !ok {
		return Identity{}, unauthorized("missing bearer token: send \"Authorization: Bearer TOKEN\" with a token from POST %s", api.PathToken)
	}
	hash := hashSecret(token)
	now := s.now()
	ti, ok := s.seen.tokens.get(string(hash), now)
	if !ok {
		id, expires, err := s.store.TokenIdentity(r.Context(), hash)
		if errors.Is(err, ErrNotFound) {
			return Identity{}, unauthorized("invalid bearer token: get a new one from POST %s", api.PathToken)
		}
		if err != nil {
			return Identity{}, fmt.Errorf("look up token: %w", err)
		}
		ti = tokenIdentity{id: id, expires: expires}
		if now.Before(expires) { // an expired one is refused, and soon swept
			s.seen.tokens.put(string(hash), ti, now)
		}
	}
	if !now.Before(ti.expires) {
		return Identity{}, unauthorized("bearer token expired %s ago: get a new one from POST %s", now.Sub(ti.expires).Round(1e9), api.PathToken)
	}
	return ti.id, nil
}

// bearerToken is the token of the request's "Authorization: Bearer"
// header; ok is false without one.
func bearerToken(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

func (s *Service) handleWhoami(w http.ResponseWriter, r *http.Request, who Identity) error {
	writeJSON(w, http.StatusOK, api.Identity{ID: who.ID, Name: who.Name, ClientID: who.ClientID})
	return nil
}
