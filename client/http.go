package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/funcx-go/funcx/internal/tlsconf"
	"github.com/funcx-go/funcx/service/api"
)

// Backoff between retries of a request: exponential from retryBase,
// capped at retryMax, with jitter so that many clients do not retry in
// step after an outage.
const (
	retryBase = 50 * time.Millisecond
	retryMax  = 2 * time.Second
)

// errBodyTooLarge is returned when a response exceeds MaxResponseBytes.
var errBodyTooLarge = errors.New("response body exceeds MaxResponseBytes")

// call describes one request to the service.
type call struct {
	method string
	path   string
	query  url.Values
	in     any // encoded as the JSON body, if not nil
	out    any // decoded from a 2xx body, if not nil
	// decode decodes out instead of json.Unmarshal, if not nil.
	decode func(data []byte, out any) error
	// noAuth leaves out the Authorization header (the token exchange).
	noAuth bool
	// idempotent allows retries after network errors and 429/5xx.
	idempotent bool
	// extraTimeout extends RequestTimeout for a long poll.
	extraTimeout time.Duration
	// stream, if not nil, reads a 2xx body as it arrives instead of out
	// and decode; contentType is the response's.
	stream func(contentType string, body io.Reader) error
}

// do sends k, retrying an idempotent call after temporary failures and any
// call once with a fresh token after a 401.
func (c *Client) do(ctx context.Context, k call) error {
	var body []byte
	if k.in != nil {
		var err error
		if body, err = json.Marshal(k.in); err != nil {
			return fmt.Errorf("encode the request: %w", err)
		}
	}
	renewed := false
	first := time.Now()
	for attempt := 0; ; attempt++ {
		var token string
		if !k.noAuth {
			var err error
			if token, err = c.auth.get(ctx); err != nil {
				return err
			}
		}
		temporary, err := c.send(ctx, k, body, token)
		if err == nil {
			return nil
		}
		if !renewed && !k.noAuth && errors.Is(err, ErrUnauthorized) && c.auth.invalidate(token) {
			// The token expired early or was revoked: fetch another
			// and try once more, without counting it as a retry.
			renewed = true
			attempt--
			continue
		}
		if !temporary || !k.idempotent || !c.retryAgain(attempt, first) || ctx.Err() != nil {
			return err
		}
		c.log.Debug("retrying request", "method", k.method, "path", k.path, "attempt", attempt+1, "err", err)
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
}

// retryAgain reports whether a request whose attempt number attempt
// (from 0) failed temporarily, first sent at first, is tried again: while
// MaxRetries retries are not spent, then until RetryFor has passed.
func (c *Client) retryAgain(attempt int, first time.Time) bool {
	switch {
	case c.cfg.MaxRetries < 0:
		return false
	case attempt < c.cfg.MaxRetries:
		return true
	default:
		return time.Since(first) < c.cfg.RetryFor
	}
}

// send makes one attempt and reports whether its failure is temporary.
func (c *Client) send(ctx context.Context, k call, body []byte, token string) (temporary bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout+k.extraTimeout)
	defer cancel()
	u := c.base + k.path
	if len(k.query) > 0 {
		u += "?" + k.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, k.method, u, rd)
	if err != nil {
		return false, fmt.Errorf("build request %s %s: %w", k.method, k.path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if terr := transportError(c.base, err); terr != nil {
			return false, terr // no retry can mend it
		}
		return true, err
	}
	defer resp.Body.Close()
	if k.stream != nil && resp.StatusCode < 300 {
		if err := k.stream(resp.Header.Get("Content-Type"), resp.Body); err != nil {
			return !errors.Is(err, errBodyTooLarge), fmt.Errorf("read the response to %s %s: %w", k.method, k.path, err)
		}
		return false, nil
	}
	data, err := readAll(resp.Body, c.cfg.MaxResponseBytes)
	if err != nil {
		return !errors.Is(err, errBodyTooLarge), fmt.Errorf("read the response to %s %s: %w", k.method, k.path, err)
	}
	if resp.StatusCode >= 300 {
		ae := parseAPIError(resp.StatusCode, data)
		if resp.StatusCode == http.StatusBadRequest && req.URL.Scheme == "http" && strings.Contains(ae.Message, "HTTP request to an HTTPS server") {
			ae.Message += " The service serves HTTPS: use an https:// service URL."
		}
		return ae.temporary(), ae
	}
	if k.out != nil && len(data) > 0 {
		decode := json.Unmarshal
		if k.decode != nil {
			decode = k.decode
		}
		if err := decode(data, k.out); err != nil {
			return false, fmt.Errorf("decode the response to %s %s: %w", k.method, k.path, err)
		}
	}
	return false, nil
}

// transportError explains the failures of a connection to the service
// that retrying cannot mend (its TLS certificate refused, plain HTTP
// where https:// was asked for), saying what to check; nil for others.
func transportError(base string, err error) error {
	if p := tlsconf.Problem(err); p != "" {
		advice := ""
		if tlsconf.UnknownAuthority(err) {
			advice = "; if a private CA signed it, trust that CA's certificate: Config.CAFile, or " + EnvCAFile + " for the funcx CLIs"
		}
		return fmt.Errorf("%w: %s: %s%s: %w", ErrCertificate, base, p, advice, err)
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return fmt.Errorf("%s serves plain HTTP, not HTTPS: use an http:// service URL, or have the service serve HTTPS: %w", base, err)
	}
	return nil
}

// readAll reads r up to limit bytes.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w (%d bytes)", errBodyTooLarge, limit)
	}
	return data, nil
}

// maxErrorText caps the text kept from an error body that is not JSON.
const maxErrorText = 512

// parseAPIError reads an error response: the service's api.ErrorBody, or
// the start of whatever else answered (a proxy's page).
func parseAPIError(status int, data []byte) *APIError {
	var eb api.ErrorBody
	if err := json.Unmarshal(data, &eb); err == nil && (eb.Error.Code != "" || eb.Error.Message != "") {
		return &APIError{Status: status, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	text := strings.TrimSpace(string(data[:min(len(data), maxErrorText)]))
	return &APIError{Status: status, Message: text}
}

// backoff returns the pause before retry number attempt+1.
func backoff(attempt int) time.Duration {
	d := min(retryBase<<min(attempt, 16), retryMax)
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
