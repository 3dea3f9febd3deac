package main

import (
	"bytes"
	"context"
	"github.com/funcx-go/funcx/internal/tty"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/internal/cli"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// world is a fake service and a funcX home for running the CLI in process.
type world struct {
	srv  *clienttest.Server
	home string
	env  map[string]string // the CLI's environment
}

// newWorld starts a fake service; the environment points the CLI at it
// with a client identity, and at an empty home.
func newWorld(t *testing.T, cfg clienttest.Config) *world {
	t.Helper()
	srv := clienttest.NewServer(t, cfg)
	w := &world{srv: srv, home: t.TempDir()}
	w.env = map[string]string{
		client.EnvHome:         w.home,
		client.EnvServiceURL:   srv.URL,
		client.EnvClientID:     srv.ClientID(),
		client.EnvClientSecret: srv.ClientSecret(),
	}
	return w
}

// result is what one CLI run produced.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the CLI with args and the world's environment.
func (w *world) run(t *testing.T, args ...string) result {
	t.Helper()
	return w.runWith(t, nil, nil, args...)
}

// runWith runs the CLI with stdin and a terminal.
func (w *world) runWith(t *testing.T, stdin io.Reader, term tty.Terminal, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	env := maps.Clone(w.env)
	var stdout, stderr bytes.Buffer
	sys := &cli.System{Stdin: stdin, Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Term: term}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := runApp(ctx, args, sys)
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	t.Logf("funcx %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, r.stdout, r.stderr)
	return r
}

// without returns a copy of the world whose environment lacks keys.
func (w *world) without(keys ...string) *world {
	c := *w
	c.env = maps.Clone(w.env)
	for _, k := range keys {
		delete(c.env, k)
	}
	return &c
}

// fakeTerminal answers prompts from a script and records them.
type fakeTerminal struct {
	mu      sync.Mutex
	answers []string
	prompts []string
	secrets []bool
}

func (f *fakeTerminal) Ask(_ context.Context, prompt string, secret bool) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prompts = append(f.prompts, prompt)
	f.secrets = append(f.secrets, secret)
	if len(f.answers) == 0 {
		return "", io.EOF
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a, nil
}
