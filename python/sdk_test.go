// Package python_test runs the Python SDK's tests (python/tests, with
// Debian's python3 and unittest) against a real service, RabbitMQ and an
// endpoint running endpoint.Run, and the Go SDK's Python functions beside
// them.
package python_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/endpoint/endpointtest"
	"github.com/funcx-go/funcx/internal/needs"
	"github.com/funcx-go/funcx/internal/python/pythontest"
)

func TestMain(m *testing.M) {
	endpoint.ServeChildRole() // the test binary is the endpoint's manager and worker
	goleak.VerifyTestMain(m)
}

// amqpURL is the RabbitMQ scripts/start-services.sh runs.
func amqpURL() string {
	return cmp.Or(os.Getenv("FUNCX_TEST_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672/")
}

// startFabric starts the service on RabbitMQ and an endpoint with two
// workers running Python in the test interpreter, no retries.
func startFabric(t *testing.T) *endpointtest.Fabric {
	t.Helper()
	return endpointtest.StartWith(t, "python-sdk", endpoint.Config{
		MaxWorkersPerNode: 2,
		CoresPerWorker:    0.5,
		PythonCommand:     pythontest.Command(t),
	}, endpointtest.Options{AMQPURL: amqpURL()})
}

// TestPythonSDK runs python/tests with unittest: the example, map,
// every failure kind and the refusals, against the real fabric.
func TestPythonSDK(t *testing.T) {
	needs.Services(t, needs.RabbitMQ, needs.Python)
	t.Parallel()
	f := startFabric(t)
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythontest.Command(t), "-m", "unittest", "discover", "-v", "-s", "tests", "-t", ".")
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(),
		"PYTHONPATH="+dir,
		"PYTHONDONTWRITEBYTECODE=1", // no __pycache__ in the tree
		"HOME="+t.TempDir(),
		client.EnvHome+"="+t.TempDir(), // no saved credentials: the environment's
		client.EnvServiceURL+"="+f.URL,
		client.EnvClientID+"="+f.ClientID,
		client.EnvClientSecret+"="+f.ClientSecret,
		"FUNCX_TEST_ENDPOINT_ID="+f.EndpointID,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("python3 -m unittest:\n%s", out)
	if err != nil {
		t.Fatalf("the Python SDK's tests failed: %v", err)
	}
	if !bytes.Contains(out, []byte("test_issue_example")) || !bytes.Contains(out, []byte("test_zz_manager_lost")) {
		t.Fatal("the service tests did not run")
	}
}

// TestGoSDKPythonFunction calls a Python function from Go through
// client.Executor: funcx.Python, JSON arguments, the JSON result, and a
// remote exception as a RemoteError with the Python traceback.
func TestGoSDKPythonFunction(t *testing.T) {
	needs.Services(t, needs.RabbitMQ, needs.Python)
	t.Parallel()
	f := startFabric(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const source = "def integrate(f_name, n):\n    import math\n    f = getattr(math, f_name)\n    return sum(f(i / n) for i in range(n)) / n\n"
	fid, err := f.Client.RegisterFunction(ctx, client.FunctionRequest("integrate", funcx.Python(source, "integrate")))
	if err != nil {
		t.Fatal(err)
	}
	ex := f.Client.Executor(f.EndpointID)
	defer ex.Close()
	res, err := ex.Submit(fid, funcx.PythonArgs{Args: []any{"sin", 1000}}).Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	if err := res.Output(&v); err != nil || v < 0.45 || v > 0.46 {
		t.Fatalf("integrate sin 1000 = %v, %v", v, err)
	}
	futs, err := ex.Map(ctx, fid, []any{funcx.PythonArgs{Args: []any{"cos", 10}}, funcx.PythonArgs{Kwargs: map[string]any{"f_name": "sin", "n": 10}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, fut := range futs {
		if _, err := fut.Result(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err = ex.Submit(fid, funcx.PythonArgs{Args: []any{"nope", 10}}).Result(ctx)
	var te *funcx.TaskError
	if !errors.As(err, &te) || te.Kind != funcx.RemoteError || !strings.Contains(te.Message, "AttributeError") || !strings.Contains(te.Stack, "f = getattr(math, f_name)") {
		t.Fatalf("a raised exception: %v (%+v)", err, te)
	}
}

// TestPipInstall installs the package with pip, offline, into a fresh
// virtual environment (from a copy: pip builds in the source tree) and
// imports it from there.
func TestPipInstall(t *testing.T) {
	t.Parallel()
	python := pythontest.Command(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	if err := os.CopyFS(src, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	venv := filepath.Join(tmp, "venv")
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = tmp // not here, where "import funcx_go" would find the tree's
		cmd.Env = append(cleanEnv(), "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONDONTWRITEBYTECODE=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// System site packages: setuptools and wheel build the package offline.
	run(python, "-m", "venv", "--system-site-packages", venv)
	run(filepath.Join(venv, "bin", "pip"), "install", "--no-index", "--no-build-isolation", src)
	out := run(filepath.Join(venv, "bin", "python"), "-c", "import funcx_go, concurrent.futures; print(funcx_go.__file__); print(issubclass(funcx_go.Executor, concurrent.futures.Executor))")
	if !strings.Contains(out, filepath.Join(venv, "lib")) || !strings.Contains(out, "True") {
		t.Fatalf("the installed package: %s", out)
	}
}

// cleanEnv is this process's environment without funcX and Python
// variables that would change what the tests see.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FUNCX_") && !strings.HasPrefix(kv, "PYTHON") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "VIRTUAL_ENV=") {
			env = append(env, kv)
		}
	}
	return env
}
