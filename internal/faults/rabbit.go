package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// management is the little of RabbitMQ's management API the orphan check
// needs: list queues, exchanges and users, delete leftovers.
type management struct {
	base *url.URL // without user info
	user string
	pass string
}

func newManagement(raw string) (*management, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("management URL: %w", err)
	}
	m := &management{user: u.User.Username()}
	m.pass, _ = u.User.Password()
	u.User = nil
	m.base = u
	return m, nil
}

// resource is a queue, an exchange or a user.
type resource struct {
	Name  string `json:"name"`
	Vhost string `json:"vhost"`
}

func (m *management) do(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// path is escaped already (a vhost "/" is %2F): joined as text.
	u := strings.TrimRight(m.base.String(), "/") + "/api/" + path
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(m.user, m.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("RabbitMQ management API: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode == http.StatusNotFound && method == http.MethodDelete {
		return nil
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("RabbitMQ management API: %s /api/%s: %s: %.200s", method, path, resp.Status, body)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// leftovers returns the queues, exchanges and users whose names hold one
// of ids.
func (m *management) leftovers(ctx context.Context, ids []string) (queues, exchanges, users []resource, err error) {
	holds := func(name string) bool {
		for _, id := range ids {
			if id != "" && strings.Contains(name, id) {
				return true
			}
		}
		return false
	}
	for _, kind := range []struct {
		path string
		dst  *[]resource
	}{{"queues?columns=name,vhost", &queues}, {"exchanges?columns=name,vhost", &exchanges}, {"users", &users}} {
		var all []resource
		if err := m.do(ctx, http.MethodGet, kind.path, &all); err != nil {
			return nil, nil, nil, err
		}
		for _, r := range all {
			if holds(r.Name) {
				*kind.dst = append(*kind.dst, r)
			}
		}
	}
	return queues, exchanges, users, nil
}

// remove deletes leftovers (kind "queues", "exchanges" or "users").
func (m *management) remove(ctx context.Context, kind string, rs []resource) error {
	for _, r := range rs {
		p := kind + "/" + url.PathEscape(r.Vhost) + "/" + url.PathEscape(r.Name)
		if kind == "users" {
			p = kind + "/" + url.PathEscape(r.Name)
		}
		if err := m.do(ctx, http.MethodDelete, p, nil); err != nil {
			return err
		}
	}
	return nil
}

// rabbitmqctlPath finds rabbitmqctl: in /usr/sbin, often not on PATH.
func rabbitmqctlPath() string {
	if bin, err := exec.LookPath("rabbitmqctl"); err == nil {
		return bin
	}
	return "/usr/sbin/rabbitmqctl"
}

// rabbitmqctl runs rabbitmqctl with args (as root: it needs the node's
// Erlang cookie).
func rabbitmqctl(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, rabbitmqctlPath(), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("rabbitmqctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// startGuard starts a process in a session of its own that starts
// RabbitMQ again after a while even if this process dies with the broker
// stopped; the returned function ends it.
func startGuard() (stop func(), err error) {
	guard := exec.Command("sh", "-c", "sleep 300; exec "+rabbitmqctlPath()+" start_app")
	guard.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := guard.Start(); err != nil {
		return nil, fmt.Errorf("start the RabbitMQ guard: %w", err)
	}
	return func() {
		_ = syscall.Kill(-guard.Process.Pid, syscall.SIGKILL)
		_ = guard.Wait()
	}, nil
}
