package worker_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/python/pythontest"
	"github.com/funcx-go/funcx/worker"
	"github.com/funcx-go/funcx/worker/workertest"
)

// pyTask is a task of a Python function with JSON args.
func pyTask(source, entry, args string) funcx.Task {
	return newTask(funcx.Python(source, entry), args)
}

// pyServe starts an in-process worker with the test interpreter.
func pyServe(t *testing.T) *workertest.Conn {
	t.Helper()
	return serve(t, worker.Config{WorkerID: 2, PythonCommand: pythontest.Command(t)})
}

// run1 runs one task and returns its result.
func run1(t *testing.T, c *workertest.Conn, task funcx.Task) funcx.Result {
	t.Helper()
	rs, err := c.Run(task)
	if err != nil {
		t.Fatal(err)
	}
	checkEnvelope(t, &task, &rs[0], 2)
	return rs[0]
}

// pidSource returns the interpreter's PID; its module code prints once,
// when it is compiled.
const pidSource = "import os\nprint('compiled')\n\ndef pid():\n    print('called')\n    return os.getpid()\n"

func interpreterPID(t *testing.T, c *workertest.Conn) (pid int, stdout string) {
	t.Helper()
	r := run1(t, c, pyTask(pidSource, "pid", ""))
	wantSuccess(t, r)
	return decode[int](t, r.Output), string(r.Stdout)
}

func TestPythonWarm(t *testing.T) {
	t.Parallel()
	c := pyServe(t)
	pid, out := interpreterPID(t, c)
	if out != "compiled\ncalled\n" {
		t.Fatalf("first call printed %q", out)
	}
	// The same interpreter, and the function compiled once.
	again, out := interpreterPID(t, c)
	if again != pid || out != "called\n" {
		t.Fatalf("second call: pid %d (first %d), printed %q", again, pid, out)
	}
	integrate := "def integrate(f_name, n):\n    import math\n    f = getattr(math, f_name)\n    return sum(f(i / n) for i in range(n)) / n\n"
	r := run1(t, c, pyTask(integrate, "integrate", `{"args":["sin",1000]}`))
	wantSuccess(t, r)
	if v := decode[float64](t, r.Output); v < 0.45 || v > 0.46 {
		t.Fatalf("integrate sin gave %v", v)
	}
	// Another kind of task in between does not disturb it.
	wantSuccess(t, run1(t, c, newTask(funcx.Shell("true"), "")))
	if p, _ := interpreterPID(t, c); p != pid {
		t.Fatalf("the interpreter changed from %d to %d", pid, p)
	}
}

func TestPythonFailures(t *testing.T) {
	t.Parallel()
	c := pyServe(t)

	r := run1(t, c, pyTask("def f(x):\n    print('about to divide')\n    return 1 / x\n", "f", `{"args":[0]}`))
	wantError(t, r, funcx.RemoteError, "ZeroDivisionError: division by zero")
	if !strings.Contains(r.Error.Stack, "Traceback (most recent call last)") || !strings.Contains(r.Error.Stack, "return 1 / x") {
		t.Errorf("stack %q lacks the remote traceback", r.Error.Stack)
	}
	if string(r.Stdout) != "about to divide\n" {
		t.Errorf("stdout of the failed call %q", r.Stdout)
	}

	r = run1(t, c, pyTask("def f():\n    import numpy_funcx_absent\n", "f", ""))
	wantError(t, r, funcx.RemoteError, "ModuleNotFoundError: No module named 'numpy_funcx_absent'",
		`has no module "numpy_funcx_absent"`, "python_command")

	wantError(t, run1(t, c, pyTask("def f(:\n", "f", "")), funcx.InvalidTask, "does not compile", "SyntaxError")
	wantError(t, run1(t, c, pyTask("def f():\n    pass\n", "g", "")), funcx.InvalidTask, "binds nothing to 'g'")
	wantError(t, run1(t, c, pyTask("def f(*a):\n    pass\n", "f", `[1]`)), funcx.InvalidTask, "arguments must be a JSON object")
	wantError(t, run1(t, c, pyTask("def f():\n    return object()\n", "f", "")), funcx.RemoteError, "cannot be carried as JSON")

	// None of that cost the interpreter.
	if pid, _ := interpreterPID(t, c); pid <= 0 {
		t.Fatal("no interpreter after the failures")
	}
}

func TestPythonOutput(t *testing.T) {
	t.Parallel()
	c := pyServe(t)
	src := "import sys\ndef f(n):\n    print('o' * n)\n    print('e' * n, file=sys.stderr)\n    return n\n"
	r := run1(t, c, pyTask(src, "f", `{"args":[3]}`))
	wantSuccess(t, r)
	if string(r.Stdout) != "ooo\n" || string(r.Stderr) != "eee\n" || r.Truncated || string(r.Output) != "3" {
		t.Fatalf("got stdout %q stderr %q truncated %v output %s", r.Stdout, r.Stderr, r.Truncated, r.Output)
	}
	task := pyTask(src, "f", `{"args":[100]}`)
	task.Function.OutputLimit = 8
	r = run1(t, c, task)
	if string(r.Stdout) != "oooooooo" || string(r.Stderr) != "eeeeeeee" || !r.Truncated {
		t.Fatalf("limited: stdout %q stderr %q truncated %v", r.Stdout, r.Stderr, r.Truncated)
	}
}

func TestPythonTimeoutReplacesInterpreter(t *testing.T) {
	t.Parallel()
	c := pyServe(t)
	pid, _ := interpreterPID(t, c)
	task := pyTask("import time\ndef f():\n    time.sleep(60)\n", "f", "")
	task.Function.Timeout = 200 * time.Millisecond
	wantError(t, run1(t, c, task), funcx.TaskTimeout, "timed out after 200ms", "interpreter was killed")
	waitGone(t, pid)
	next, out := interpreterPID(t, c)
	if next == pid || out != "compiled\ncalled\n" {
		t.Fatalf("after the timeout: pid %d (was %d), printed %q", next, pid, out)
	}
}

func TestPythonCrashIsWorkerLost(t *testing.T) {
	t.Parallel()
	c := pyServe(t)
	pid, _ := interpreterPID(t, c)
	r := run1(t, c, pyTask("import os\ndef f():\n    os._exit(9)\n", "f", ""))
	wantError(t, r, funcx.WorkerLost, "exited with status 9")
	waitGone(t, pid)
	if next, _ := interpreterPID(t, c); next == pid {
		t.Fatalf("the dead interpreter %d answered", pid)
	}
}

func TestPythonInterpreterMissing(t *testing.T) {
	t.Parallel()
	c := serve(t, worker.Config{WorkerID: 2, PythonCommand: "/nonexistent/python3"})
	r := run1(t, c, pyTask("def f():\n    pass\n", "f", ""))
	wantError(t, r, funcx.RemoteError, `start python interpreter "/nonexistent/python3"`, "python_command")
}

func TestPythonShutdownCancelsAndStops(t *testing.T) {
	t.Parallel()
	c := pyServe(t)
	pid, _ := interpreterPID(t, c)
	if err := c.Send(pyTask("import time\ndef f():\n    time.sleep(60)\n", "f", "")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let it start
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	rs, err := c.RecvN(1)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, rs[0], funcx.Cancelled)
	waitGone(t, pid)
}

// TestPythonNoOrphan runs a worker process (this binary) whose Python
// function leaves a background process, then ends the worker both ways:
// a closed connection and SIGKILL. Nothing of the interpreter outlives it.
func TestPythonNoOrphan(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"close", "kill"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), worker.EnvPythonCommand+"="+pythontest.Command(t))
			p := workertest.Start(t, cmd, 2)
			pidFile := filepath.Join(t.TempDir(), "child")
			args, _ := json.Marshal(funcx.PythonArgs{Args: []any{pidFile}})
			src := "import os, subprocess\ndef f(path):\n    child = subprocess.Popen(['sleep', '60'])\n    with open(path, 'w') as out:\n        out.write(str(child.pid))\n    return os.getpid()\n"
			rs, err := p.Run(pyTask(src, "f", string(args)))
			if err != nil {
				t.Fatal(err)
			}
			wantSuccess(t, rs[0])
			pid := decode[int](t, rs[0].Output)
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			child, _ := strconv.Atoi(string(b))
			if how == "close" {
				p.Close()
			} else {
				_ = p.Cmd.Process.Kill()
			}
			_ = p.Wait()
			waitGone(t, pid)
			if how == "close" {
				waitGone(t, child) // the group is killed on a clean stop
			} else {
				// After SIGKILL of the worker only the kernel acts: the
				// interpreter gets its parent-death signal; what the
				// function started was reparented and is killed here.
				_ = exec.Command("kill", "-9", strconv.Itoa(child)).Run()
			}
		})
	}
}

// TestPythonCallsSentAhead queues Python tasks behind one another, with a
// timeout and a crash among them: every task gets its own result, in
// order; those behind a killed interpreter run, once, in the next one.
func TestPythonCallsSentAhead(t *testing.T) {
	t.Parallel()
	c := pyServe(t)
	dir := t.TempDir()
	// Each call appends its marker to a file: a task run twice would show.
	src := "import os\ndef f(path, mark, how):\n    with open(path, 'a') as out:\n        out.write(mark + '\\n')\n" +
		"    if how == 'crash':\n        os._exit(5)\n    if how == 'hang':\n        import time\n        time.sleep(60)\n    return os.getpid()\n"
	log := filepath.Join(dir, "calls")
	var tasks []funcx.Task
	for i, how := range []string{"", "", "hang", "", "", "crash", "", ""} {
		args, _ := json.Marshal(funcx.PythonArgs{Args: []any{log, strconv.Itoa(i), how}})
		task := pyTask(src, "f", string(args))
		if how == "hang" {
			task.Function.Timeout = 300 * time.Millisecond
		}
		tasks = append(tasks, task)
	}
	if err := c.Send(tasks...); err != nil {
		t.Fatal(err)
	}
	rs, err := c.RecvN(len(tasks))
	if err != nil {
		t.Fatal(err)
	}
	pids := make([]int, len(tasks))
	for i, r := range rs {
		if r.TaskID != tasks[i].ID {
			t.Fatalf("result %d is of another task", i)
		}
		switch i {
		case 2:
			wantError(t, r, funcx.TaskTimeout)
		case 5:
			wantError(t, r, funcx.WorkerLost, "exited with status 5")
		default:
			wantSuccess(t, r)
			pids[i] = decode[int](t, r.Output)
		}
	}
	if pids[0] != pids[1] || pids[3] != pids[4] || pids[6] != pids[7] || pids[1] == pids[3] || pids[4] == pids[6] {
		t.Fatalf("interpreters per task %v: want one before the timeout, one until the crash, one after", pids)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(b)); strings.Join(got, ",") != "0,1,2,3,4,5,6,7" {
		t.Fatalf("calls ran %v, want each once, in order", got)
	}
}
