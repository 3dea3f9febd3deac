package python

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/internal/python/pythontest"
)

// start starts an interpreter that the test closes, and checks that
// nothing it started outlives Close.
func start(t *testing.T, cfg Config) *Interpreter {
	t.Helper()
	cfg.Command = pythontest.Command(t)
	cfg.Stderr = testWriter{t}
	p, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close(time.Second)
		if alive(p.PID()) {
			t.Errorf("interpreter %d alive after Close", p.PID())
		}
	})
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("python: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

func call(t *testing.T, p *Interpreter, source, entry, args string) *Reply {
	t.Helper()
	r, err := p.Call(context.Background(), &Call{Source: source, Entry: entry, Args: []byte(args)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const integrate = `
print("compiling")

def integrate(f_name, n, scale=1):
    import math
    f = getattr(math, f_name)
    print("integrating", f_name)
    return scale * sum(f(i / n) for i in range(n)) / n
`

func TestCallWarmAndCached(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	if h := p.Hello(); h.Protocol != ProtocolVersion || h.PID != p.PID() || !strings.HasPrefix(h.Version, "3.") {
		t.Fatalf("hello %+v", h)
	}
	r := call(t, p, integrate, "integrate", `{"args":["sin",1000]}`)
	var v float64
	if !r.OK || json.Unmarshal(r.Value, &v) != nil || v < 0.45 || v > 0.46 {
		t.Fatalf("first call: %+v", r)
	}
	if r.Stdout != "compiling\nintegrating sin\n" {
		t.Fatalf("first call printed %q", r.Stdout)
	}
	// The second call finds the function compiled: its module code does
	// not run again, and the source is not sent.
	r = call(t, p, integrate, "integrate", `{"args":["cos",10],"kwargs":{"scale":2}}`)
	if !r.OK || r.Stdout != "integrating cos\n" || json.Unmarshal(r.Value, &v) != nil || v < 1.7 || v > 1.8 {
		t.Fatalf("warm call: %+v (%s)", r, r.Value)
	}
	// No arguments at all, and a value that is not a number.
	r = call(t, p, "def hello():\n    return {'hi': [1, None, True, 'é']}\n", "hello", "")
	if !r.OK || string(r.Value) != `{"hi":[1,null,true,"é"]}` {
		t.Fatalf("no-argument call: %+v (%s)", r, r.Value)
	}
}

func TestCallMissingIsSentAgain(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	src := "def f(x):\n    return x + 1\n"
	p.known[FunctionID(src, "f")] = struct{}{} // believed compiled, but the driver never saw it
	if r := call(t, p, src, "f", `{"args":[41]}`); !r.OK || string(r.Value) != "42" {
		t.Fatalf("got %+v", r)
	}
}

func TestCallFailures(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	for _, tc := range []struct {
		name, source, entry, args string
		kind, message, typ        string
		traceback, module         string
	}{
		{name: "exception", source: "def f(x):\n    return 1 / x\n", entry: "f", args: `{"args":[0]}`,
			kind: KindRemoteError, message: "ZeroDivisionError: division by zero", typ: "ZeroDivisionError",
			traceback: "  File \"<funcx function f ", module: ""},
		{name: "missing module", source: "def f():\n    import no_such_module_funcx\n", entry: "f",
			kind: KindRemoteError, message: "ModuleNotFoundError: No module named 'no_such_module_funcx'", typ: "ModuleNotFoundError",
			traceback: "import no_such_module_funcx", module: "no_such_module_funcx"},
		{name: "missing module at compile", source: "import no_such_module_funcx\ndef f():\n    pass\n", entry: "f",
			kind: KindRemoteError, message: "No module named", module: "no_such_module_funcx"},
		{name: "sys.exit", source: "import sys\ndef f():\n    sys.exit(3)\n", entry: "f",
			kind: KindRemoteError, message: "SystemExit: 3", typ: "SystemExit"},
		{name: "syntax error", source: "def f(:\n", entry: "f", kind: KindInvalidTask, message: "does not compile"},
		{name: "no such entry", source: "def g():\n    pass\n", entry: "f", kind: KindInvalidTask, message: "binds nothing to 'f'"},
		{name: "entry not callable", source: "f = 3\n", entry: "f", kind: KindInvalidTask, message: "binds a int to 'f'"},
		{name: "args not a list", source: "def f(*a):\n    pass\n", entry: "f", args: `{"args":{"a":1}}`, kind: KindInvalidTask, message: `"args" must be a JSON array`},
		{name: "unknown key", source: "def f(*a):\n    pass\n", entry: "f", args: `{"argv":[]}`, kind: KindInvalidTask, message: "unknown keys ['argv']"},
		{name: "args not JSON", source: "def f(*a):\n    pass\n", entry: "f", args: `{"args":[`, kind: KindInvalidTask, message: "not valid JSON"},
		{name: "wrong arity", source: "def f(a):\n    pass\n", entry: "f", args: `{"args":[1,2]}`, kind: KindRemoteError, typ: "TypeError", message: "takes 1 positional argument"},
		{name: "set return", source: "def f():\n    return {1, 2}\n", entry: "f", kind: KindRemoteError, message: "cannot be carried as JSON (TypeError: Object of type set is not JSON serializable)"},
		{name: "NaN return", source: "def f():\n    return float('nan')\n", entry: "f", kind: KindRemoteError, message: "cannot be carried as JSON (ValueError"},
	} {
		r := call(t, p, tc.source, tc.entry, tc.args)
		if r.OK || r.Kind != tc.kind || !strings.Contains(r.Message, tc.message) || r.Type != tc.typ && tc.typ != "" ||
			!strings.Contains(r.Traceback, tc.traceback) || r.Module != tc.module {
			t.Errorf("%s: got %+v", tc.name, r)
		}
		if strings.Contains(r.Traceback, "<funcx driver>") {
			t.Errorf("%s: the traceback shows the driver's frames:\n%s", tc.name, r.Traceback)
		}
	}
	// Still alive and well after all that.
	if r := call(t, p, "def f():\n    return 1\n", "f", ""); !r.OK || p.Dead() {
		t.Fatalf("after failures: %+v", r)
	}
}

func TestCallTracebackShowsSource(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	r := call(t, p, "def inner(d):\n    return d['missing']\n\ndef outer():\n    return inner({})\n", "outer", "")
	for _, want := range []string{"Traceback (most recent call last):", "return inner({})", "return d['missing']", "KeyError: 'missing'"} {
		if !strings.Contains(r.Traceback, want) {
			t.Errorf("traceback lacks %q:\n%s", want, r.Traceback)
		}
	}
}

func TestCallOutputCaptureAndLimit(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	src := "import sys\ndef f(n):\n    print('x' * n)\n    print('warn', file=sys.stderr)\n    sys.stdout.buffer.write(b'bytes\\n')\n    return n\n"
	r := call(t, p, src, "f", `{"args":[3]}`)
	if !r.OK || r.Stdout != "xxx\nbytes\n" || r.Stderr != "warn\n" || r.Truncated {
		t.Fatalf("got %+v", r)
	}
	r, err := p.Call(context.Background(), &Call{Source: src, Entry: "f", Args: []byte(`{"args":[100]}`), OutputLimit: 10})
	if err != nil || !r.OK || r.Stdout != strings.Repeat("x", 10) || !r.Truncated || r.Stderr != "warn\n" {
		t.Fatalf("limited: %+v, %v", r, err)
	}
	// A lone surrogate neither breaks the capture nor the reply.
	r = call(t, p, "def f():\n    print('\\ud800')\n    return '\\ud800'\n", "f", "")
	if !r.OK || r.Stdout == "" || string(r.Value) != `"\ud800"` {
		t.Fatalf("surrogates: %+v %s", r, r.Value)
	}
}

func TestCallResultTooLarge(t *testing.T) {
	t.Parallel()
	p := start(t, Config{MaxReply: 1000})
	r := call(t, p, "def f(n):\n    return 'x' * n\n", "f", `{"args":[5000]}`)
	if r.OK || r.Kind != KindResultTooLarge || !strings.Contains(r.Message, "5002 bytes of JSON, more than the 1000") {
		t.Fatalf("got %+v", r)
	}
	if r := call(t, p, "def f(n):\n    return 'x' * n\n", "f", `{"args":[5]}`); !r.OK {
		t.Fatalf("small result after a large one: %+v", r)
	}
}

func TestCallTimeoutKills(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	// A grandchild in the background too: the kill reaches the group.
	src := "import os, time\ndef f():\n    os.system('sleep 60 &')\n    time.sleep(60)\n"
	ctx, cancel := context.WithTimeoutCause(context.Background(), 300*time.Millisecond, errors.New("task timeout"))
	defer cancel()
	_, err := p.Call(ctx, &Call{Source: src, Entry: "f"})
	if err == nil || !strings.Contains(err.Error(), "killed: task timeout") || !p.Dead() {
		t.Fatalf("got %v (dead %v)", err, p.Dead())
	}
	waitGroupGone(t, p.PID())
	if _, err := p.Call(context.Background(), &Call{Source: src, Entry: "f"}); err == nil {
		t.Fatal("a dead interpreter answered")
	}
}

// waitGroupGone waits until no process of group pgid is left.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process group %d still has processes", pgid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCallCrash(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ source, want string }{
		"exit":   {"import os\ndef f():\n    os.system('sleep 60 &')\n    os._exit(3)\n", "exited with status 3"},
		"signal": {"import os, signal\ndef f():\n    print('bye', file=os.fdopen(2, 'w'))\n    os.kill(os.getpid(), signal.SIGSEGV)\n", "killed by signal segmentation fault; its last output:"},
		// The function finds the reply pipe (the only write-only pipe)
		// and writes garbage into it.
		"protocol": {"import os, stat, fcntl\ndef f():\n    for fd in range(3, 64):\n        try:\n            st = os.fstat(fd)\n        except OSError:\n            continue\n        if stat.S_ISFIFO(st.st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:\n            os.write(fd, b'\\x00\\x00\\x00\\x02{]')\n    return 1\n", "broke the driver protocol"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := start(t, Config{})
			done := make(chan error, 1)
			go func() {
				_, err := p.Call(context.Background(), &Call{Source: tc.source, Entry: "f"})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) || !p.Dead() {
					t.Fatalf("got %v, want %q", err, tc.want)
				}
			case <-time.After(30 * time.Second):
				// A grandchild holding the reply pipe would block here.
				t.Fatal("the crash was not seen")
			}
		})
	}
}

func TestCloseEndsEverything(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	call(t, p, "import os\ndef f():\n    os.system('sleep 60 &')\n", "f", "")
	p.Close(time.Second)
	if alive(p.PID()) {
		t.Fatal("interpreter alive after Close")
	}
	waitGroupGone(t, p.PID())
	p.Close(time.Second) // idempotent
}

func TestStartFailures(t *testing.T) {
	t.Parallel()
	if _, err := Start(context.Background(), Config{Command: "no-such-python-funcx"}); err == nil || !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "executable file not found") {
		t.Fatalf("missing interpreter: %v", err)
	}
	// An interpreter that exits at once, saying why.
	dir := t.TempDir()
	fake := dir + "/python"
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'this is no python' >&2\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{Command: fake})
	if err == nil || !strings.Contains(err.Error(), "exited with status 7") || !strings.Contains(err.Error(), "this is no python") {
		t.Fatalf("failing interpreter: %v", err)
	}
	// One that never says hello.
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), Config{Command: fake, StartTimeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no hello within 200ms") {
		t.Fatalf("silent interpreter: %v", err)
	}
}

func TestSendAhead(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	src := "import os\ndef f(x):\n    print(x)\n    return [x, os.getpid()]\n"
	other := "def g(x):\n    return -x\n"
	p.known[FunctionID(other, "g")] = struct{}{} // believed compiled: its reply is "missing"
	first, reply, err := p.send(&Call{Source: src, Entry: "f", Args: []byte(`{"args":[0]}`)}, false)
	if err != nil || reply != nil {
		t.Fatal(reply, err)
	}
	var ahead []*Pending
	for i := 1; i <= 5; i++ {
		c := &Call{Source: src, Entry: "f", Args: []byte(fmt.Sprintf(`{"args":[%d]}`, i))}
		if i == 3 {
			c = &Call{Source: other, Entry: "g", Args: []byte(`{"args":[3]}`)}
		}
		pd, ok := p.SendAhead(c)
		if !ok {
			t.Fatalf("call %d not sent ahead", i)
		}
		ahead = append(ahead, pd)
	}
	// Waited for out of order: replies read early are kept.
	r, err := p.Wait(context.Background(), ahead[1])
	if err != nil || string(r.Value) != fmt.Sprintf("[2,%d]", p.PID()) || r.Stdout != "2\n" {
		t.Fatalf("second ahead: %+v %v", r, err)
	}
	for i, pd := range append([]*Pending{first}, ahead...) {
		if i == 2 {
			continue
		}
		r, err := p.Wait(context.Background(), pd)
		want := fmt.Sprintf("[%d,%d]", i, p.PID())
		if i == 3 {
			want = "-3" // sent again with its source after "missing"
		}
		if err != nil || string(r.Value) != want {
			t.Fatalf("call %d: %+v %v, want %s", i, r, err, want)
		}
	}
	if p.inflight != 0 || len(p.sent) != 0 || len(p.stash) != 0 || p.holds != 0 {
		t.Fatalf("after every reply: %d bytes in flight, calls %v, stash %v, %d holds", p.inflight, p.sent, p.stash, p.holds)
	}

	// The pipe's budget: a request that would overfill it is not sent.
	big := &Call{Source: src, Entry: "f", Args: []byte(`{"args":["` + strings.Repeat("x", aheadBytes) + `"]}`)}
	if _, ok := p.SendAhead(big); ok {
		t.Fatal("a request past the budget was sent ahead")
	}
	if r, err := p.Call(context.Background(), big); err != nil || !r.OK {
		t.Fatalf("the large call in its turn: %v", err)
	}
}

func TestSendAheadBehindATimeout(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	slow, _, err := p.send(&Call{Source: "import time\ndef f():\n    time.sleep(60)\n", Entry: "f"}, false)
	if err != nil {
		t.Fatal(err)
	}
	next, ok := p.SendAhead(&Call{Source: "def g():\n    return 1\n", Entry: "g"})
	if !ok {
		t.Fatal("not sent ahead")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := p.Wait(ctx, slow); err == nil || !p.Dead() {
		t.Fatalf("the slow call: %v", err)
	}
	// The call behind it never ran: an error, for the caller to run it
	// again on a new interpreter.
	if _, err := p.Wait(context.Background(), next); err == nil {
		t.Fatal("a call behind a killed one was answered")
	}
	if _, ok := p.SendAhead(&Call{Source: "def g():\n    return 1\n", Entry: "g"}); ok {
		t.Fatal("a dead interpreter took a call")
	}
}

// Calls sent ahead are written together: buffered until Flush (or Wait),
// then in one write, which the driver splits into its frames, a large one
// read across several reads among them.
func TestSendAheadWritesTogether(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	dir := t.TempDir()
	src := "def f(path, pad=''):\n    open(path, 'w').close()\n    return len(pad)\n"
	var pds []*Pending
	for i, pad := range []int{0, 0, 3 * aheadBytes / 4, 0} {
		args, _ := json.Marshal(map[string]any{"args": []any{fmt.Sprintf("%s/%d", dir, i), strings.Repeat("x", pad)}})
		pd, ok := p.SendAhead(&Call{Source: src, Entry: "f", Args: args})
		if !ok {
			t.Fatalf("call %d not sent ahead", i)
		}
		pds = append(pds, pd)
	}
	// Buffered: all four frames, nothing written yet.
	r := bufio.NewReader(bytes.NewReader(p.buf))
	for i := range pds {
		if _, err := readFrame(r, 1<<20); err != nil {
			t.Fatalf("buffered frame %d: %v", i, err)
		}
	}
	if r.Buffered() != 0 {
		t.Fatalf("%d bytes past the four frames", r.Buffered())
	}
	if err := p.Flush(); err != nil || len(p.buf) != 0 {
		t.Fatalf("flush: %v, %d bytes left", err, len(p.buf))
	}
	// The driver runs them without a Wait.
	last := fmt.Sprintf("%s/%d", dir, len(pds)-1)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(last); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flushed calls did not run")
		}
	}
	for i, pd := range pds {
		want := "0"
		if i == 2 {
			want = strconv.Itoa(3 * aheadBytes / 4)
		}
		if r, err := p.Wait(context.Background(), pd); err != nil || !r.OK || string(r.Value) != want {
			t.Fatalf("call %d: %+v %v, want %s", i, r, err, want)
		}
	}
}

// The driver's reply to a call that returned and printed nothing has the
// form fastReply reads without encoding/json: the common case stays fast
// if the driver's encoding changes.
func TestPlainSuccessIsReadFast(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	pd, reply, err := p.Send(&Call{Source: "def f(x):\n    return [x, 'é']\n", Entry: "f", Args: []byte(`{"args":[1]}`)})
	if err != nil || reply != nil {
		t.Fatalf("send: %+v %v", reply, err)
	}
	raw, err := readFrame(p.r, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := fastReply(raw)
	if !ok {
		t.Fatalf("the driver's plain success %s is not read by fastReply", raw)
	}
	if r.Seq != pd.req.Seq || string(r.Value) != `[1,"é"]` {
		t.Fatalf("fastReply read %+v (%s) from %s", r, r.Value, raw)
	}
}

// holdSource is a function that is short when called with no path, and
// otherwise waits for the file at path to exist, or exits the interpreter
// if path is "exit": a short function that turns long, or crashes.
const holdSource = "import os, time\ndef h(path=''):\n    if path == 'exit':\n        os._exit(7)\n" +
	"    while path and not os.path.exists(path):\n        time.sleep(0.002)\n    return 1\n"

// sendHeld warms h up (known and short), then sends a short call of it
// and, ahead, a call with path, both allowed the quiet pipe (Call.Hold).
func sendHeld(t *testing.T, p *Interpreter, path string) (first, second *Pending) {
	t.Helper()
	for range 3 {
		if r := call(t, p, holdSource, "h", ""); !r.OK {
			t.Fatalf("warm-up: %+v", r)
		}
	}
	// Both in one write, so that the driver has the second when the first
	// returns.
	first, ok := p.SendAhead(&Call{Source: holdSource, Entry: "h", Hold: true})
	args, _ := json.Marshal(map[string]any{"args": []string{path}})
	second, ok2 := p.SendAhead(&Call{Source: holdSource, Entry: "h", Args: args, Hold: true})
	if !ok || !ok2 {
		t.Fatal("not sent ahead")
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	return first, second
}

// A reply that went to the quiet pipe comes while the next call, of a
// function that was short, runs long: the caller looks there.
func TestQuietReplyComesWhileTheNextCallRuns(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	path := filepath.Join(t.TempDir(), "go")
	first, second := sendHeld(t, p, path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r, err := p.Wait(ctx, first); err != nil || string(r.Value) != "1" {
		t.Fatalf("the first reply did not come while the next call ran: %+v %v", r, err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Wait(context.Background(), second); err != nil || string(r.Value) != "1" {
		t.Fatalf("second: %+v %v", r, err)
	}
	if p.holds != 0 || len(p.sent) != 0 {
		t.Fatalf("%d holds, calls %v in flight after every reply", p.holds, p.sent)
	}
}

// A reply that went to the quiet pipe survives the interpreter's crash in
// the next call: the call that returned is answered, the one that crashed
// fails with the exit status.
func TestQuietReplySurvivesACrash(t *testing.T) {
	t.Parallel()
	p := start(t, Config{})
	first, second := sendHeld(t, p, "exit")
	if r, err := p.Wait(context.Background(), first); err != nil || string(r.Value) != "1" {
		t.Fatalf("the call before the crash: %+v %v", r, err)
	}
	if r, err := p.Wait(context.Background(), second); err == nil || !strings.Contains(err.Error(), "exited with status 7") || !p.Dead() {
		t.Fatalf("the crashing call: %+v %v (dead %v), want exit status 7", r, err, p.Dead())
	}
}
