package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
)

func sampleTasks() []funcx.Task {
	return []funcx.Task{
		{
			ID:       funcx.NewTaskID(),
			Function: funcx.Function{Kind: funcx.KindShell, Script: "echo {x}", Env: map[string]string{"A": "1"}, Dir: "/tmp", Timeout: time.Second, OutputLimit: 10},
			Args:     []byte(`{"x":"hi"}`),
			Stdin:    []byte("in"),
			Resources: funcx.ResourceSpec{
				Cores: 2, MemoryBytes: 1 << 30, GPUs: 1,
			},
			Attempt:  1,
			Received: time.Unix(0, 1700000000123456789),
		},
		{ID: funcx.NewTaskID(), Function: funcx.GoFunc("noop"), Container: "img:1"},
		{ID: funcx.NewTaskID(), Function: funcx.Command("true", "a b")},
		// A Python function travels in the fields a shell script and a Go
		// name use: no field was added, so ProtocolVersion stays.
		{ID: funcx.NewTaskID(), Function: funcx.Function{Kind: funcx.KindPython, Script: "def f(x):\n    return x\n", Name: "f", Timeout: time.Second},
			Args: []byte(`{"args":[1],"kwargs":{"k":"v"}}`)},
	}
}

func TestTasksRoundTrip(t *testing.T) {
	t.Parallel()
	in := sampleTasks()
	out, err := DecodeTasks(AppendTasks(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i].Received = in[i].Received.Round(0)
		out[i].Received = out[i].Received.Round(0)
		if !in[i].Received.Equal(out[i].Received) {
			t.Errorf("task %d received %v, want %v", i, out[i].Received, in[i].Received)
		}
		in[i].Received, out[i].Received = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestResultsRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 5)
	in := []funcx.Result{
		{TaskID: funcx.NewTaskID(), State: funcx.StateSuccess, Output: []byte(`1`), Stdout: []byte("o"), Stderr: []byte("e"), Truncated: true, ExitCode: -1, Attempt: 2, Manager: "m1", Worker: 3,
			Times: funcx.Timings{Received: now, Dispatched: now.Add(1), Started: now.Add(2), Finished: now.Add(3)}},
		{TaskID: funcx.NewTaskID(), State: funcx.StateFailed, Error: &funcx.TaskError{Kind: funcx.WorkerLost, Message: "killed", Stack: "s"}, Worker: -1},
	}
	out, err := DecodeResults(AppendResults(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		for _, p := range []*time.Time{&in[i].Times.Received, &in[i].Times.Dispatched, &in[i].Times.Started, &in[i].Times.Finished,
			&out[i].Times.Received, &out[i].Times.Dispatched, &out[i].Times.Started, &out[i].Times.Finished} {
			*p = p.Round(0).UTC()
		}
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestHelloRoundTripAndMagic(t *testing.T) {
	t.Parallel()
	in := Hello{Version: ProtocolVersion, Secret: "s", ManagerID: "m", Hostname: "h", BlockID: "b", PID: 42, Workers: 4, Prefetch: 2, ContainerTypes: []string{"a", "b"}}
	out, err := DecodeHello(AppendHello(nil, &in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %+v want %+v", out, in)
	}
	if _, err := DecodeHello([]byte("GET / HTTP/1.1")); !errors.Is(err, ErrBadMagic) {
		t.Fatalf("http probe: got %v, want ErrBadMagic", err)
	}
}

func TestOtherMessagesRoundTrip(t *testing.T) {
	t.Parallel()
	t.Run("welcome", func(t *testing.T) {
		in := Welcome{InterchangeID: "i", HeartbeatPeriod: time.Second, HeartbeatThreshold: 3 * time.Second}
		out, err := DecodeWelcome(AppendWelcome(nil, &in))
		if err != nil || out != in {
			t.Fatalf("got %+v, %v", out, err)
		}
		bad := Welcome{InterchangeID: "i"}
		if _, err := DecodeWelcome(AppendWelcome(nil, &bad)); err == nil {
			t.Fatal("zero heartbeat accepted")
		}
	})
	t.Run("task ids", func(t *testing.T) {
		in := []funcx.TaskID{funcx.NewTaskID(), funcx.NewTaskID()}
		out, err := DecodeTaskIDs(AppendTaskIDs(nil, in))
		if err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("got %v, %v", out, err)
		}
	})
	t.Run("ready", func(t *testing.T) {
		in := Ready{Worker: 3, PID: 9, Hostname: "c1", Container: "img"}
		out, err := DecodeReady(AppendReady(nil, &in))
		if err != nil || out != in {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("status", func(t *testing.T) {
		in := Status{Types: []TypeStatus{{Container: "a", Workers: 2, Idle: 1}}, ColdStarts: 3, Switches: 1, WarmHits: 7, Retired: 2, StartFailures: 1}
		out, err := DecodeStatus(AppendStatus(nil, &in))
		if err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("status of an older manager without the trailing figures", func(t *testing.T) {
		in := Status{Types: []TypeStatus{{Container: "a", Workers: 2, Idle: 1}}, ColdStarts: 3, Switches: 1, WarmHits: 7}
		p := AppendStatus(nil, &in)
		out, err := DecodeStatus(p[:len(p)-2]) // the two trailing uvarints, 0 each
		if err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
}

func TestDecodeRejectsMalformed(t *testing.T) {
	t.Parallel()
	good := AppendTasks(nil, sampleTasks())
	cases := map[string][]byte{
		"empty":          nil,
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"huge count":     {0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeTasks(p); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("result with bad state", func(t *testing.T) {
		p := AppendResults(nil, []funcx.Result{{State: funcx.StateSuccess}})
		p[1+16] = 200
		if _, err := DecodeResults(p); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v, want ErrMalformed", err)
		}
	})
}

func TestFrames(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := NewWriter(&buf, 100)
	if err := w.WriteFrame(MsgHeartbeat, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(MsgRefused, AppendText(nil, "bad secret")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(MsgTasks, make([]byte, 100)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized write: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf, 100)
	if typ, p, err := r.ReadFrame(); err != nil || typ != MsgHeartbeat || len(p) != 0 {
		t.Fatalf("frame 1: %v %v %v", typ, p, err)
	}
	if typ, p, err := r.ReadFrame(); err != nil || typ != MsgRefused || DecodeText(p) != "bad secret" {
		t.Fatalf("frame 2: %v %q %v", typ, p, err)
	}
	t.Run("declared length over limit", func(t *testing.T) {
		r := NewReader(bytes.NewReader([]byte{0x7f, 0, 0, 0, 4}), 1<<20)
		if _, _, err := r.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("zero length", func(t *testing.T) {
		r := NewReader(bytes.NewReader([]byte{0, 0, 0, 0, 4}), 1<<20)
		if _, _, err := r.ReadFrame(); err == nil {
			t.Fatal("zero-length frame accepted")
		}
	})
	t.Run("short payload", func(t *testing.T) {
		r := NewReader(bytes.NewReader([]byte{0, 0, 0, 9, 4, 1}), 1<<20)
		if _, _, err := r.ReadFrame(); err == nil {
			t.Fatal("short frame accepted")
		}
	})
}

func BenchmarkEncodeDecodeTasks(b *testing.B) {
	tasks := make([]funcx.Task, 256)
	for i := range tasks {
		tasks[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("noop"), Received: time.Now()}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTasks(buf[:0], tasks)
		if _, err := DecodeTasks(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(tasks))/b.Elapsed().Seconds(), "tasks/s")
}

// Zero values encode to the smallest payloads; the count bounds must
// accept them.
func TestZeroValuesRoundTrip(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 100} {
		if out, err := DecodeTasks(AppendTasks(nil, make([]funcx.Task, n))); err != nil || len(out) != n {
			t.Fatalf("%d zero tasks: %v", n, err)
		}
		if out, err := DecodeResults(AppendResults(nil, make([]funcx.Result, n))); err != nil || len(out) != n {
			t.Fatalf("%d zero results: %v", n, err)
		}
	}
}
