package faults

import (
	"context"
	"encoding/json"
	"errors"
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
	hc   *http.Client
	base *url.URL // without user info
	user string
	pass string
}

func newManagement(hc *http.Client, raw string) (*management, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("management URL: %w", err)
	}
	m := &management{hc: hc, user: u.User.Username()}
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
	resp, err := m.hc.Do(req)
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

// leftovers returns the virtual hosts, queues, exchanges and users whose
// name, or whose virtual host's name, holds one of ids (the service
// gives each endpoint a virtual host of its own). Exchanges RabbitMQ
// makes in every virtual host (the default one, amq.*) are not counted:
// the virtual host is.
func (m *management) leftovers(ctx context.Context, ids []string) (l leftovers, err error) {
	holds := func(r resource) bool {
		for _, id := range ids {
			if id != "" && (strings.Contains(r.Name, id) || strings.Contains(r.Vhost, id)) {
				return true
			}
		}
		return false
	}
	for _, kind := range []struct {
		path string
		dst  *[]resource
	}{{"vhosts?columns=name", &l.vhosts}, {"queues?columns=name,vhost", &l.queues},
		{"exchanges?columns=name,vhost", &l.exchanges}, {"users", &l.users}} {
		var all []resource
		if err := m.do(ctx, http.MethodGet, kind.path, &all); err != nil {
			return l, err
		}
		for _, r := range all {
			if kind.dst == &l.exchanges && (r.Name == "" || strings.HasPrefix(r.Name, "amq.")) {
				continue
			}
			if holds(r) {
				*kind.dst = append(*kind.dst, r)
			}
		}
	}
	return l, nil
}

// leftovers are RabbitMQ resources of deleted endpoints.
type leftovers struct {
	vhosts, queues, exchanges, users []resource
}

// names lists the resources as vhost/name (or name).
func names(rs []resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		if r.Vhost != "" {
			out = append(out, r.Vhost+"/"+r.Name)
		} else {
			out = append(out, r.Name)
		}
	}
	return out
}

// removeAll deletes the leftovers, the virtual hosts last.
func (m *management) removeAll(ctx context.Context, l leftovers) error {
	return errors.Join(m.remove(ctx, "queues", l.queues), m.remove(ctx, "exchanges", l.exchanges),
		m.remove(ctx, "users", l.users), m.remove(ctx, "vhosts", l.vhosts))
}

// remove deletes resources of a kind: "queues", "exchanges", "users" or
// "vhosts".
func (m *management) remove(ctx context.Context, kind string, rs []resource) error {
	for _, r := range rs {
		p := kind + "/" + url.PathEscape(r.Vhost) + "/" + url.PathEscape(r.Name)
		if kind == "users" || kind == "vhosts" {
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
