package rabbitmq

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// management is a client of the RabbitMQ management HTTP API, for what
// AMQP cannot do: virtual hosts, users, their permissions and limits.
type management struct {
	base           string // scheme://host:port, no user info, no trailing slash
	user, password string
	client         *http.Client
	transport      *http.Transport
}

func newManagement(rawURL, user, password string, tlsConfig *tls.Config, timeout time.Duration) (*management, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse ManagementURL: %w", err)
	}
	u.User = nil
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tlsConfig != nil {
		tr.TLSClientConfig = tlsConfig.Clone()
	}
	return &management{
		base:      strings.TrimSuffix(u.String(), "/"),
		user:      user,
		password:  password,
		client:    &http.Client{Transport: tr, Timeout: timeout},
		transport: tr,
	}, nil
}

// path joins escaped segments: the default vhost "/" is "%2F".
func path(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// do sends a request with a JSON body (if in is not nil) and decodes a
// JSON reply into out (if not nil). A 404 is not an error when
// missingOK is set.
//
// Every call of the management API made here is idempotent (GET, PUT of
// a whole object, DELETE), and RabbitMQ answers some of them with a 500
// while a concurrent change is under way (listing users while one is
// deleted; closing a connection already closing). So a server error is
// tried again, up to serverErrorAttempts times.
func (m *management) do(ctx context.Context, method, p string, in, out any, missingOK bool) error {
	var err error
	for attempt := range serverErrorAttempts {
		if attempt > 0 {
			select {
			case <-time.After(serverErrorDelay):
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			}
		}
		err = m.doOnce(ctx, method, p, in, out, missingOK)
		var se *statusError
		if err == nil || !errors.As(err, &se) || se.code < 500 {
			return err
		}
	}
	return err
}

const (
	serverErrorAttempts = 3
	serverErrorDelay    = 200 * time.Millisecond
)

func (m *management) doOnce(ctx context.Context, method, p string, in, out any, missingOK bool) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("rabbitmq management: %s %s: %w", method, p, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.base+p, body)
	if err != nil {
		return fmt.Errorf("rabbitmq management: %s %s: %w", method, p, err)
	}
	req.SetBasicAuth(m.user, m.password)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return fmt.Errorf("rabbitmq management: %s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound && missingOK:
		return nil
	case resp.StatusCode/100 != 2:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = " (check ManagementUser/ManagementPassword: an administrator is needed)"
		}
		return fmt.Errorf("rabbitmq management: %s %s: %w", method, p, &statusError{code: resp.StatusCode, status: resp.Status + hint, body: string(bytes.TrimSpace(msg))})
	case out != nil:
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return fmt.Errorf("rabbitmq management: %s %s: decode reply: %w", method, p, err)
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	return nil
}

// putUser creates the user or sets its password. No tags: the user has
// no access to the management API itself.
func (m *management) putUser(ctx context.Context, name, password string) error {
	return m.do(ctx, http.MethodPut, path("users", name), map[string]string{"password": password, "tags": ""}, nil, false)
}

// permissions are regular expressions over resource names.
type permissions struct {
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

func (m *management) putPermissions(ctx context.Context, vhost, user string, p permissions) error {
	return m.do(ctx, http.MethodPut, path("permissions", vhost, user), p, nil, false)
}

// putVhost creates a virtual host; one that exists is left as it is.
func (m *management) putVhost(ctx context.Context, name, description string) error {
	return m.do(ctx, http.MethodPut, path("vhosts", name), map[string]string{"description": description, "tags": "funcx"}, nil, false)
}

// deleteVhost deletes a virtual host and everything in it (queues,
// exchanges, permissions), closing its connections; a missing one is not
// an error.
func (m *management) deleteVhost(ctx context.Context, name string) error {
	return m.do(ctx, http.MethodDelete, path("vhosts", name), nil, nil, true)
}

// putUserLimit sets a user limit (max-connections, max-channels), or
// lifts it for NoLimit.
func (m *management) putUserLimit(ctx context.Context, user, limit string, value int) error {
	if value == NoLimit {
		return m.do(ctx, http.MethodDelete, path("user-limits", user, limit), nil, nil, true)
	}
	return m.do(ctx, http.MethodPut, path("user-limits", user, limit), map[string]int{"value": value}, nil, false)
}

// deleteUser deletes the user (and its permissions and limits); a
// missing user is not an error.
func (m *management) deleteUser(ctx context.Context, name string) error {
	return m.do(ctx, http.MethodDelete, path("users", name), nil, nil, true)
}

// closeUserConnections closes every connection of the user. RabbitMQ
// 3.10 already does when the user is deleted; this covers versions and
// auth setups that do not, so that a deleted endpoint is cut off at once.
// A connection that RabbitMQ is closing already (the user's deletion just
// began it) can make the call fail with a 500 once; do tries again.
func (m *management) closeUserConnections(ctx context.Context, user string) error {
	return m.do(ctx, http.MethodDelete, path("connections", "username", user), nil, nil, true)
}

// statusError is a management API reply other than 2xx.
type statusError struct {
	code   int
	status string // with a hint where one helps
	body   string
}

func (e *statusError) Error() string { return e.status + ": " + e.body }

func (m *management) close() { m.transport.CloseIdleConnections() }
