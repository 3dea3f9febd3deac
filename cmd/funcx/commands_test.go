package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// shellRunner is a fake endpoint for shell functions: stdout is the argv
// joined, stderr "warning", and the exit code the task's args["code"].
func shellRunner(fn api.Function, t api.TaskSubmit) *api.TaskResult {
	if len(fn.Argv) > 0 && fn.Argv[0] == "die" {
		return &api.TaskResult{Error: &api.TaskError{Kind: "WorkerLost", Message: "worker 1 was killed"}}
	}
	if len(fn.Argv) > 0 && fn.Argv[0] == "orphan" {
		return &api.TaskResult{Error: &api.TaskError{Kind: "EndpointDeleted", Message: "endpoint e was deleted before the task had a result"}}
	}
	code := 0
	if len(fn.Argv) > 1 && fn.Argv[0] == "exit" {
		_ = json.Unmarshal([]byte(fn.Argv[1]), &code)
	}
	return &api.TaskResult{Stdout: []byte(strings.Join(fn.Argv, " ") + "\n" + string(t.Stdin)), Stderr: []byte("warning\n"), ExitCode: code}
}

func TestRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{Run: shellRunner})
	ep := w.srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})

	t.Run("exit status and output", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "run", "-e", ep, "--", "exit", "3", "now")
		if r.code != 3 || r.stdout != "exit 3 now\n" || r.stderr != "warning\n" {
			t.Fatalf("got %+v, want exit 3 with the command's output", r)
		}
	})
	t.Run("success with stdin", func(t *testing.T) {
		t.Parallel()
		r := w.runWith(t, strings.NewReader("input"), nil, "run", "--endpoint", ep, "--stdin", "--", "cat")
		if r.code != 0 || r.stdout != "cat\ninput" {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("failed task", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "run", "-e", ep, "--", "die")
		if r.code != exitTaskFailed || !strings.Contains(r.stderr, "WorkerLost: worker 1 was killed") {
			t.Fatalf("got %+v, want exit %d naming the error kind", r, exitTaskFailed)
		}
	})
	t.Run("endpoint deleted", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "run", "-e", ep, "--", "orphan")
		if r.code != exitTaskFailed || !strings.Contains(r.stderr, "failed: EndpointDeleted: endpoint e was deleted") {
			t.Fatalf("got %+v, want exit %d naming EndpointDeleted", r, exitTaskFailed)
		}
	})
	t.Run("unknown endpoint", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "run", "-e", "nope", "--", "true")
		if r.code != 1 || !strings.Contains(r.stderr, "not_found") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("braces are literal", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, clienttest.Config{Run: shellRunner})
		ep := w.srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})
		if r := w.run(t, "run", "-e", ep, "--", "awk", "{print $1}"); r.code != 0 {
			t.Fatalf("got %+v", r)
		}
		fn := w.srv.Function(w.srv.Tasks()[0].FunctionID)
		if fn.Argv[1] != "{{print $1}}" {
			t.Fatalf("registered argv %q, want braces escaped", fn.Argv)
		}
	})
}

func TestEndpointCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{})
	a := w.srv.AddEndpoint(api.EndpointStatus{Name: "cluster", Managers: 2, Workers: 64, Outstanding: 5})
	b := w.srv.AddEndpoint(api.EndpointStatus{Name: "laptop", Status: "offline"})
	w.srv.AddEndpoint(api.EndpointStatus{Name: "theirs", Owner: "someone-else"})

	t.Run("list", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "endpoint", "list")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 {
			t.Fatalf("got %+v, want a header and two rows", r)
		}
		if f := strings.Fields(lines[0]); strings.Join(f, " ") != "ENDPOINT ID NAME STATUS MANAGERS WORKERS OUTSTANDING ALERT LAST HEARTBEAT" {
			t.Fatalf("header %q", lines[0])
		}
		if f := strings.Fields(lines[1]); f[0] != a || f[1] != "cluster" || f[2] != "online" || f[3] != "2" || f[4] != "64" || f[5] != "5" || f[6] != "-" || f[7] != "never" {
			t.Fatalf("row %q", lines[1])
		}
		if f := strings.Fields(lines[2]); f[0] != b || f[2] != "offline" {
			t.Fatalf("row %q", lines[2])
		}
		// The columns line up.
		if strings.Index(lines[0], "NAME") != strings.Index(lines[1], "cluster") {
			t.Fatalf("columns do not line up:\n%s", r.stdout)
		}
	})
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "endpoint", "status", a)
		if r.code != 0 || !strings.Contains(r.stdout, "Name:") || !strings.Contains(r.stdout, "cluster") || !strings.Contains(r.stdout, "Workers:") {
			t.Fatalf("got %+v", r)
		}
		if r := w.run(t, "endpoint", "status", "nope"); r.code != 1 || !strings.Contains(r.stderr, "404") {
			t.Fatalf("unknown endpoint: %+v", r)
		}
	})
}

func TestNotLoggedIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{}).without(client.EnvClientID, client.EnvClientSecret)
	for _, args := range [][]string{{"whoami"}, {"endpoint", "list"}, {"status", "x"}} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			r := w.run(t, args...)
			want := "funcx: not logged in: run `funcx login` or set FUNCX_SDK_CLIENT_ID and FUNCX_SDK_CLIENT_SECRET\n"
			if r.code != 1 || r.stderr != want {
				t.Fatalf("got %+v, want %q", r, want)
			}
		})
	}
	t.Run("no service URL", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, clienttest.Config{}).without(client.EnvServiceURL)
		if r := w.run(t, "whoami"); r.code != 1 || !strings.Contains(r.stderr, "--service-url") {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()

	t.Run("flags, then saved credentials, then logout", func(t *testing.T) {
		t.Parallel()
		full := newWorld(t, clienttest.Config{})
		w := full.without(client.EnvClientID, client.EnvClientSecret, client.EnvServiceURL)
		r := w.run(t, "--service-url", full.srv.URL, "login", "--client-id", full.srv.ClientID(), "--client-secret", full.srv.ClientSecret())
		if r.code != 0 || !strings.Contains(r.stdout, "Test User") {
			t.Fatalf("login: %+v", r)
		}
		path := filepath.Join(w.home, client.CredentialsFile)
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("credentials file: %v, %v", st, err)
		}
		if r := w.run(t, "whoami"); r.code != 0 || !strings.Contains(r.stdout, "user-1") {
			t.Fatalf("whoami with saved credentials: %+v", r)
		}
		if r := w.run(t, "logout"); r.code != 0 || !strings.Contains(r.stdout, "Logged out") {
			t.Fatalf("logout: %+v", r)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("credentials still there: %v", err)
		}
		if r := w.run(t, "whoami"); r.code != 1 || !strings.Contains(r.stderr, "not logged in") {
			t.Fatalf("whoami after logout: %+v", r)
		}
	})

	t.Run("prompts on a terminal", func(t *testing.T) {
		t.Parallel()
		full := newWorld(t, clienttest.Config{})
		w := full.without(client.EnvClientID, client.EnvClientSecret, client.EnvServiceURL)
		term := &fakeTerminal{answers: []string{full.srv.URL, full.srv.ClientID(), full.srv.ClientSecret()}}
		if r := w.runWith(t, nil, term, "login"); r.code != 0 {
			t.Fatalf("login: %+v", r)
		}
		if len(term.prompts) != 3 || term.secrets[1] || !term.secrets[2] {
			t.Fatalf("prompts %q, secret %v: want URL, ID and a hidden secret", term.prompts, term.secrets)
		}
		creds, err := client.LoadCredentials(filepath.Join(w.home, client.CredentialsFile))
		if err != nil || creds.ClientSecret != full.srv.ClientSecret() || creds.ServiceURL != full.srv.URL {
			t.Fatalf("saved %+v, %v", creds, err)
		}
	})

	t.Run("wrong secret is not saved", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, clienttest.Config{})
		w.env[client.EnvClientSecret] = "wrong"
		r := w.run(t, "login")
		if r.code != 1 || !strings.Contains(r.stderr, "refused the credentials") {
			t.Fatalf("got %+v", r)
		}
		if _, err := os.Stat(filepath.Join(w.home, client.CredentialsFile)); !os.IsNotExist(err) {
			t.Fatal("refused credentials were saved")
		}
	})

	t.Run("no terminal, nothing given", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, clienttest.Config{}).without(client.EnvClientID, client.EnvClientSecret)
		if r := w.run(t, "login"); r.code != 1 || !strings.Contains(r.stderr, "pass --client-id or set FUNCX_SDK_CLIENT_ID") {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestTaskCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{})
	ep := w.srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})

	r := w.run(t, "register-function", "--name", "greet", "--script", "echo hello {who}", "--timeout", "30s")
	fid := strings.TrimSpace(r.stdout)
	if r.code != 0 || w.srv.Function(fid) == nil || w.srv.Function(fid).Timeout != "30s" {
		t.Fatalf("register-function: %+v", r)
	}
	r = w.run(t, "submit", "-e", ep, "-f", fid, "--args", `{"who":"world"}`, "--count", "3")
	ids := strings.Fields(r.stdout)
	if r.code != 0 || len(ids) != 3 || len(w.srv.Tasks()) != 3 || string(w.srv.Tasks()[0].Args) != `{"who":"world"}` {
		t.Fatalf("submit: %+v", r)
	}
	w.srv.Complete(api.TaskResult{TaskID: ids[0], Stdout: []byte("hello world\n")},
		api.TaskResult{TaskID: ids[1], Error: &api.TaskError{Kind: "TaskTimeout", Message: "ran 30s"}})

	t.Run("status", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "status", ids[0], ids[1], ids[2], "unknown")
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 1 || len(lines) != 5 || !strings.Contains(lines[1], "success") || !strings.Contains(lines[2], "TaskTimeout") ||
			!strings.Contains(lines[3], "waiting-for-ep") || !strings.Contains(lines[4], "not-found") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("result", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "result", ids[0], ids[1])
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		var first, second api.TaskResult
		if r.code != 0 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &second) != nil {
			t.Fatalf("got %+v", r)
		}
		if string(first.Stdout) != "hello world\n" || second.Error == nil || second.Error.Kind != "TaskTimeout" {
			t.Fatalf("results %+v, %+v", first, second)
		}
	})
	t.Run("result of an unfinished task", func(t *testing.T) {
		t.Parallel()
		r := w.run(t, "result", "--wait", "100ms", ids[2])
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "is waiting-for-ep") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		t.Parallel()
		if r := w.run(t, "submit", "-e", ep, "-f", fid, "--args", "{oops"); r.code != 1 || !strings.Contains(r.stderr, "not valid JSON") {
			t.Fatalf("got %+v", r)
		}
		if r := w.run(t, "register-function", "--name", "x", "--script", "true", "--", "ls"); r.code == 0 || !strings.Contains(r.stderr, "exactly one") {
			t.Fatalf("got %+v", r)
		}
	})
}

func TestMisc(t *testing.T) {
	t.Parallel()
	w := newWorld(t, clienttest.Config{})
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		if r := w.run(t, "--help"); r.code != 0 || !strings.Contains(r.stdout, "register-function") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		t.Parallel()
		if r := w.run(t, "explode"); r.code == 0 || !strings.Contains(r.stderr, "unexpected argument explode") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("version", func(t *testing.T) {
		t.Parallel()
		if r := w.run(t, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "funcx ") {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("whoami", func(t *testing.T) {
		t.Parallel()
		if r := w.run(t, "whoami"); r.code != 0 || !strings.Contains(r.stdout, "Test User") || !strings.Contains(r.stdout, w.srv.URL) {
			t.Fatalf("got %+v", r)
		}
	})
}
