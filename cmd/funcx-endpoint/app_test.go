package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/funcx-go/funcx/internal/tty"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/cli"
	"github.com/funcx-go/funcx/service/api"
)

// world is a fake service and an empty funcX home for running the CLI
// in this process.
type world struct {
	srv  *clienttest.Server
	home string
	env  map[string]string
}

// newWorld starts a fake service; the environment points the CLI at it
// with a client identity.
func newWorld(t *testing.T) *world {
	t.Helper()
	srv := clienttest.NewServer(t, clienttest.Config{})
	w := &world{srv: srv, home: t.TempDir()}
	w.env = map[string]string{
		"HOME":                 t.TempDir(),
		client.EnvHome:         w.home,
		client.EnvServiceURL:   srv.URL,
		client.EnvClientID:     srv.ClientID(),
		client.EnvClientSecret: srv.ClientSecret(),
	}
	return w
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

type result struct {
	stdout, stderr string
	code           int
}

func (w *world) run(t *testing.T, args ...string) result {
	t.Helper()
	return w.runWith(t, nil, args...)
}

// runExe runs the CLI as if installed at /usr/local/bin/funcx-endpoint.
func (w *world) runExe(t *testing.T, args ...string) result {
	t.Helper()
	return w.runFull(t, nil, func() (string, error) { return "/usr/local/bin/funcx-endpoint", nil }, args...)
}

// runWith runs the CLI with a terminal (nil: stdin is not one).
func (w *world) runWith(t *testing.T, term tty.Terminal, args ...string) result {
	t.Helper()
	return w.runFull(t, term, func() (string, error) { return "", os.ErrNotExist }, args...)
}

func (w *world) runFull(t *testing.T, term tty.Terminal, exe func() (string, error), args ...string) result {
	t.Helper()
	env := maps.Clone(w.env)
	var stdout, stderr bytes.Buffer
	sys := &cli.System{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] },
		Executable: exe}
	if term != nil {
		sys.Term = term
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := runApp(ctx, args, sys)
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	t.Logf("funcx-endpoint %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, r.stdout, r.stderr)
	return r
}

func (w *world) profile(t *testing.T, name string) *profile.Profile {
	t.Helper()
	p, err := profile.New(w.home, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
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

// The table is funcX's, to the space: the documentation's example.
func TestListTableLayout(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	err := writeTable(&b, [3]string{"Endpoint Name", "Status", "Endpoint ID"}, [][3]string{
		{"default", "Active", "1e999502-b434-49a2-a2e0-d925383d2dd4"},
		{"KNL_test", "Inactive", "8c01d13c-cfc1-42d9-96d2-52c51784ea16"},
		{"gpu_cluster", "Initialized", "None"},
	})
	want := "" +
		"| Endpoint Name |   Status    |             Endpoint ID              |\n" +
		"| default       | Active      | 1e999502-b434-49a2-a2e0-d925383d2dd4 |\n" +
		"| KNL_test      | Inactive    | 8c01d13c-cfc1-42d9-96d2-52c51784ea16 |\n" +
		"| gpu_cluster   | Initialized | None                                 |\n"
	if err != nil || b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestConfigureAndList(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if r := w.run(t, "list"); r.code != 0 || r.stdout != "| Endpoint Name | Status | Endpoint ID |\n" {
		t.Fatalf("empty list: %+v", r)
	}
	r := w.run(t, "configure")
	cfg := filepath.Join(w.home, "default", "config.toml")
	if r.code != 0 || !strings.Contains(r.stdout, filepath.Join(w.home, "default")) || !strings.Contains(r.stdout, cfg) {
		t.Fatalf("configure does not say where: %+v", r)
	}
	if b, err := os.ReadFile(cfg); err != nil || string(b) != profile.Template("default") {
		t.Fatalf("config.toml: %v", err)
	}
	if err := os.WriteFile(cfg, []byte("display_name = \"edited\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := w.run(t, "configure", "default"); r.code != 1 || !strings.Contains(r.stderr, "already configured") {
		t.Fatalf("second configure: %+v", r)
	}
	if b, _ := os.ReadFile(cfg); string(b) != "display_name = \"edited\"\n" {
		t.Fatal("configure overwrote an existing profile")
	}
	if r := w.run(t, "configure", "gpu_cluster"); r.code != 0 {
		t.Fatalf("configure gpu_cluster: %+v", r)
	}
	if err := w.profile(t, "gpu_cluster").SaveRegistration(profile.Registration{EndpointID: "8c01d13c-cfc1-42d9-96d2-52c51784ea16"}); err != nil {
		t.Fatal(err)
	}
	r = w.run(t, "list")
	want := "" +
		"| Endpoint Name |   Status    |             Endpoint ID              |\n" +
		"| default       | Initialized | None                                 |\n" +
		"| gpu_cluster   | Stopped     | 8c01d13c-cfc1-42d9-96d2-52c51784ea16 |\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("list:\n%s\nwant\n%s", r.stdout, want)
	}
	r = w.run(t, "list", "--json")
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 {
		t.Fatalf("list --json: %v: %s", err, r.stdout)
	}
	if got[0]["name"] != "default" || got[0]["status"] != "Initialized" || got[0]["endpoint_id"] != nil ||
		got[1]["status"] != "Stopped" || got[1]["endpoint_id"] != "8c01d13c-cfc1-42d9-96d2-52c51784ea16" {
		t.Fatalf("list --json: %v", got)
	}
}

// A broken profile is reported without hiding the others.
func TestListWithABrokenProfile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.run(t, "configure", "good")
	w.run(t, "configure", "broken")
	if err := os.WriteFile(w.profile(t, "broken").Path(profile.EndpointFile), []byte("{oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := w.run(t, "list")
	if r.code != 1 || !strings.Contains(r.stdout, "| good          | Initialized | None        |") || strings.Contains(r.stdout, "broken") ||
		!strings.Contains(r.stderr, "endpoint broken: ") {
		t.Fatalf("got %+v", r)
	}
}

// A bad config.toml stops start before anything happens, naming the key
// and its line.
func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key", "display_name = \"x\"\n[provider]\nmax_block = 4\n", "line 3: provider.max_block: unknown key (did you mean provider.max_blocks?)"},
		{"min above max", "[provider]\nmin_blocks = 3\nmax_blocks = 2\n", "line 2: provider.min_blocks: 3 exceeds provider.max_blocks (2)"},
		{"wrong type", "max_workers_per_node = \"eight\"\n", "line 1: max_workers_per_node: want an integer, not a TOML string"},
		{"duration without unit", "[strategy]\nmax_idletime = 300\n", `line 2: strategy.max_idletime: want a duration string like "30s", not an integer`},
		{"soft routing on kubernetes", "container_routing = \"soft\"\n[provider]\ntype = \"kubernetes\"\n", "line 1: container_routing: soft routing is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.run(t, "configure")
			p := w.profile(t, "default")
			if err := os.WriteFile(p.Path(profile.ConfigFile), []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			r := w.run(t, "start", "--foreground")
			if r.code != 1 || !strings.Contains(r.stderr, p.Path(profile.ConfigFile)+" is not a valid endpoint configuration:") || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("got %+v, want %q", r, tc.want)
			}
			for _, f := range []string{profile.EndpointFile, profile.PIDFile, profile.RunFile, profile.LogFile} {
				if _, err := os.Stat(p.Path(f)); !os.IsNotExist(err) {
					t.Errorf("%s exists after a refused start", f)
				}
			}
		})
	}
}

func TestStartWithoutCredentials(t *testing.T) {
	t.Parallel()
	w := newWorld(t).without(client.EnvClientID, client.EnvClientSecret)
	w.run(t, "configure")
	r := w.run(t, "start")
	if r.code != 1 || !strings.Contains(r.stderr, "not logged in, and stdin is not a terminal to log in on: run `funcx-endpoint login`") ||
		!strings.Contains(r.stderr, "FUNCX_SDK_CLIENT_ID and FUNCX_SDK_CLIENT_SECRET") {
		t.Fatalf("got %+v", r)
	}
	if _, err := os.Stat(w.profile(t, "default").Path(profile.EndpointFile)); !os.IsNotExist(err) {
		t.Fatal("registered without credentials")
	}
}

// The first start without cached credentials asks on the terminal (the
// service URL, then the client ID and a hidden secret), caches them with
// mode 0600, and registers. The start-up error that follows (the fake
// service has no broker) is printed, with a non-zero exit.
func TestStartLogsInInteractively(t *testing.T) {
	t.Parallel()
	full := newWorld(t)
	w := full.without(client.EnvClientID, client.EnvClientSecret, client.EnvServiceURL)
	w.run(t, "configure")
	term := &fakeTerminal{answers: []string{full.srv.URL, full.srv.ClientID(), full.srv.ClientSecret()}}
	r := w.runWith(t, term, "start", "--foreground")
	if len(term.prompts) != 3 || !strings.HasPrefix(term.prompts[0], "Service URL") || !strings.HasPrefix(term.prompts[1], "Client ID") ||
		!strings.HasPrefix(term.prompts[2], "Client secret") || term.secrets[1] || !term.secrets[2] {
		t.Fatalf("prompts %q, secret %v", term.prompts, term.secrets)
	}
	path := filepath.Join(w.home, client.CredentialsFile)
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials.json: %v, %v", st, err)
	}
	creds, err := client.LoadCredentials(path)
	if err != nil || creds.ServiceURL != full.srv.URL || creds.ClientSecret != full.srv.ClientSecret() {
		t.Fatalf("cached %+v, %v", creds, err)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "in-process broker") {
		t.Fatalf("start-up error: %+v", r)
	}
	p := w.profile(t, "default")
	reg, ok, err := p.Registration()
	if err != nil || !ok || reg.OwnerID != "user-1" || reg.ServiceURL != full.srv.URL {
		t.Fatalf("endpoint.json: %+v, %v, %v", reg, ok, err)
	}
	// The failed start released everything: Stopped, not Disconnected.
	if st, err := p.Status(); err != nil || st.State != profile.Stopped {
		t.Fatalf("after the failed start: %+v, %v", st, err)
	}
	// The second start asks nothing: the credentials are cached.
	term2 := &fakeTerminal{}
	if r := w.runWith(t, term2, "start", "--foreground"); r.code != 1 || len(term2.prompts) != 0 || !strings.Contains(r.stderr, "in-process broker") {
		t.Fatalf("second start: %+v, prompts %q", r, term2.prompts)
	}
	if r2, _, _ := p.Registration(); r2.EndpointID != reg.EndpointID {
		t.Fatalf("second start registered a new ID: %s, then %s", reg.EndpointID, r2.EndpointID)
	}
}

// Only the owner starts an endpoint.
func TestStartRefusesAnotherIdentity(t *testing.T) {
	t.Parallel()
	t.Run("the service refuses", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.run(t, "configure")
		theirs := w.srv.AddEndpoint(apiEndpoint("someone-else"))
		if err := w.profile(t, "default").SaveRegistration(profile.Registration{EndpointID: theirs}); err != nil {
			t.Fatal(err)
		}
		r := w.run(t, "start", "--foreground")
		if r.code != 1 || !strings.Contains(r.stderr, "belongs to another identity, and you are Test User (user-1): only its owner may start it") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("endpoint.json names another owner", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.run(t, "configure")
		if err := w.profile(t, "default").SaveRegistration(profile.Registration{EndpointID: "ep-1", OwnerID: "user-2", OwnerName: "Bob"}); err != nil {
			t.Fatal(err)
		}
		r := w.run(t, "start", "--foreground")
		if r.code != 1 || !strings.Contains(r.stderr, "endpoint default (ep-1) belongs to Bob (user-2), and you are Test User (user-1): only its owner may start it") {
			t.Fatalf("got %+v", r)
		}
	})
}

// A profile whose endpoint was deleted on the service says so and what
// to do, rather than a bare 410.
func TestStartDeletedEndpoint(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.run(t, "configure")
	if err := w.profile(t, "default").SaveRegistration(profile.Registration{EndpointID: "ep-1"}); err != nil {
		t.Fatal(err)
	}
	w.srv.FailNext("POST /v1/endpoints", 1, http.StatusGone, "endpoint_deleted")
	r := w.run(t, "start", "--foreground")
	if r.code != 1 || !strings.Contains(r.stderr, "endpoint default (ep-1) was deleted from the service, and a deleted endpoint ID is never reused") ||
		!strings.Contains(r.stderr, "funcx-endpoint delete default") {
		t.Fatalf("got %+v", r)
	}
}

func TestStopStates(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if r := w.run(t, "stop"); r.code != 1 || !strings.Contains(r.stderr, "no endpoint default") {
		t.Fatalf("stop of no profile: %+v", r)
	}
	w.run(t, "configure")
	if r := w.run(t, "stop"); r.code != 0 || !strings.Contains(r.stdout, "not running") {
		t.Fatalf("stop of an initialized endpoint: %+v", r)
	}
	p := w.profile(t, "default")
	if err := p.SaveRegistration(profile.Registration{EndpointID: "ep-1"}); err != nil {
		t.Fatal(err)
	}
	// What a killed daemon leaves.
	if err := os.WriteFile(p.Path(profile.PIDFile), []byte("999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.SaveRun(profile.RunRecord{RunID: "no-such-run", ProviderType: "local"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := p.Status(); st.State != profile.Disconnected {
		t.Fatalf("state %v", st.State)
	}
	if r := w.run(t, "stop"); r.code != 0 || !strings.Contains(r.stderr, "was not stopped cleanly: cleaned up") {
		t.Fatalf("stop of a disconnected endpoint: %+v", r)
	}
	if st, _ := p.Status(); st.State != profile.Stopped {
		t.Fatalf("after the clean-up: %v", st.State)
	}
	if r := w.run(t, "stop"); r.code != 0 || !strings.Contains(r.stdout, "not running") {
		t.Fatalf("stop again: %+v", r)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.run(t, "configure")
	id := w.srv.AddEndpoint(apiEndpoint(""))
	p := w.profile(t, "default")
	if err := p.SaveRegistration(profile.Registration{EndpointID: id}); err != nil {
		t.Fatal(err)
	}

	if r := w.run(t, "delete", "default"); r.code != 1 || !strings.Contains(r.stderr, "confirm with --yes") {
		t.Fatalf("delete without a terminal: %+v", r)
	}
	no := &fakeTerminal{answers: []string{"n"}}
	if r := w.runWith(t, no, "delete", "default"); r.code != 0 || !strings.Contains(r.stdout, "Not deleted") || !p.Exists() {
		t.Fatalf("answered no: %+v", r)
	}
	if len(no.prompts) != 1 || !strings.Contains(no.prompts[0], "deregister endpoint "+id) {
		t.Fatalf("prompt %q", no.prompts)
	}

	lock, err := p.AcquireDaemonLock() // as if its daemon ran
	if err != nil {
		t.Fatal(err)
	}
	if r := w.run(t, "delete", "--yes", "default"); r.code != 1 || !strings.Contains(r.stderr, "is running") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("delete while running: %+v", r)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}

	yes := &fakeTerminal{answers: []string{"y"}}
	if r := w.runWith(t, yes, "delete", "default"); r.code != 0 || !strings.Contains(r.stdout, "Deleted endpoint default") {
		t.Fatalf("answered yes: %+v", r)
	}
	if _, err := os.Stat(p.Dir()); !os.IsNotExist(err) {
		t.Fatal("the profile remains")
	}
	cl, err := client.New(client.Config{ServiceURL: w.srv.URL, ClientID: w.srv.ClientID(), ClientSecret: w.srv.ClientSecret()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.EndpointStatus(context.Background(), id); err == nil {
		t.Fatal("the endpoint is still registered")
	}
}

func TestLoginWhoamiLogout(t *testing.T) {
	t.Parallel()
	full := newWorld(t)
	w := full.without(client.EnvClientID, client.EnvClientSecret)
	if r := w.run(t, "login", "--client-id", full.srv.ClientID(), "--client-secret", full.srv.ClientSecret()); r.code != 0 || !strings.Contains(r.stdout, "Test User") {
		t.Fatalf("login: %+v", r)
	}
	if r := w.run(t, "whoami"); r.code != 0 || !strings.Contains(r.stdout, "user-1") {
		t.Fatalf("whoami: %+v", r)
	}
	if r := w.run(t, "logout"); r.code != 0 || !strings.Contains(r.stdout, "Logged out") {
		t.Fatalf("logout: %+v", r)
	}
	if r := w.run(t, "whoami"); r.code != 1 || !strings.Contains(r.stderr, "not logged in") {
		t.Fatalf("whoami after logout: %+v", r)
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.run(t, "--help")
	for _, c := range []string{"configure", "start", "stop", "restart", "list", "delete", "login", "logout", "whoami", "version", "--install-completion", "--debug", "--log-to-console"} {
		if !strings.Contains(r.stdout, c) {
			t.Errorf("--help lacks %s", c)
		}
	}
	if regexp.MustCompile(`(?m)^\s+daemon\s`).MatchString(r.stdout) {
		t.Error("--help shows the internal daemon command")
	}
	if r := w.run(t, "start", "--help"); !strings.Contains(r.stdout, "--foreground") {
		t.Errorf("start --help lacks --foreground: %+v", r)
	}
	if r := w.run(t, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "funcx-endpoint ") {
		t.Fatalf("version: %+v", r)
	}
}

// apiEndpoint is an endpoint of owner ("" for the test identity) for the
// fake service.
func apiEndpoint(owner string) api.EndpointStatus {
	return api.EndpointStatus{Name: "default", Owner: owner}
}

// Usage errors exit 2 (kong's default was 80), with the usage; --help
// ends with the exit statuses.
func TestExitStatuses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, args := range [][]string{{"explode"}, {}, {"start", "--bogus"}, {"delete"}, {"stop", "--timeout", "soon"}} {
		if r := w.run(t, args...); r.code != 2 || !strings.Contains(r.stderr, "funcx-endpoint: error: ") || !strings.Contains(r.stdout, "Usage: funcx-endpoint") {
			t.Errorf("%q: %+v, want exit 2 with the usage", args, r)
		}
	}
	if r := w.run(t, "stop"); r.code != 1 {
		t.Errorf("stop of no profile: %+v, want exit 1", r)
	}
	if r := w.run(t, "--help"); r.code != 0 || !strings.Contains(r.stdout, "Exit status: 0 on success; 1 on an error") ||
		!strings.Contains(r.stdout, "2 on a usage error") {
		t.Errorf("--help does not list the exit statuses: %+v", r)
	}
}
