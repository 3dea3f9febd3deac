package wire

import (
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
)

// Limits on decoded fields that no honest peer exceeds.
const (
	maxWorkers   = 1 << 20
	maxSmallInt  = 1 << 31
	maxTaskState = uint64(funcx.StateFailed)
	maxErrKind   = uint64(funcx.InternalError)
)

// Hello is the first frame a manager sends to the interchange.
type Hello struct {
	Version   int    // ProtocolVersion of the manager
	Secret    string // the endpoint run's secret
	ManagerID string
	Hostname  string
	BlockID   string
	PID       int
	// Workers is how many workers the manager runs, Prefetch how many
	// extra tasks it queues; capacity is their sum.
	Workers  int
	Prefetch int
	// ContainerTypes are the container types the manager serves; empty
	// means it serves RAW tasks only (funcx.RawContainer).
	ContainerTypes []string
	// Deadline is when the manager's block ends (its walltime); zero
	// means none. The interchange stops sending tasks it cannot finish.
	Deadline time.Time
}

// AppendHello encodes h.
func AppendHello(b []byte, h *Hello) []byte {
	e := enc{b}
	e.b = append(e.b, Magic...)
	e.uvarint(uint64(h.Version))
	e.str(h.Secret)
	e.str(h.ManagerID)
	e.str(h.Hostname)
	e.str(h.BlockID)
	e.uvarint(uint64(h.PID))
	e.uvarint(uint64(h.Workers))
	e.uvarint(uint64(h.Prefetch))
	e.strs(h.ContainerTypes)
	e.time(h.Deadline)
	return e.b
}

// ErrBadMagic means the peer does not speak this protocol at all.
var ErrBadMagic = fmt.Errorf("%w: not a funcx manager (bad magic)", ErrMalformed)

// DecodeHello decodes a Hello. A version mismatch is not a decoding error:
// the caller compares Version and refuses with a clear reason.
func DecodeHello(p []byte) (Hello, error) {
	if len(p) < len(Magic) || string(p[:len(Magic)]) != Magic {
		return Hello{}, ErrBadMagic
	}
	d := dec{b: p[len(Magic):]}
	var h Hello
	h.Version = d.int("hello version", 1<<16)
	h.Secret = d.str("hello secret")
	h.ManagerID = d.str("hello manager id")
	h.Hostname = d.str("hello hostname")
	h.BlockID = d.str("hello block id")
	h.PID = d.int("hello pid", maxSmallInt)
	h.Workers = d.int("hello workers", maxWorkers)
	h.Prefetch = d.int("hello prefetch", maxWorkers)
	h.ContainerTypes = d.strs("hello container types")
	h.Deadline = d.time("hello deadline")
	return h, d.done("hello")
}

// Welcome accepts a manager and tells it the interchange's timing.
type Welcome struct {
	InterchangeID      string
	HeartbeatPeriod    time.Duration
	HeartbeatThreshold time.Duration
}

// AppendWelcome encodes w.
func AppendWelcome(b []byte, w *Welcome) []byte {
	e := enc{b}
	e.str(w.InterchangeID)
	e.varint(int64(w.HeartbeatPeriod))
	e.varint(int64(w.HeartbeatThreshold))
	return e.b
}

// DecodeWelcome decodes a Welcome.
func DecodeWelcome(p []byte) (Welcome, error) {
	d := dec{b: p}
	var w Welcome
	w.InterchangeID = d.str("welcome interchange id")
	w.HeartbeatPeriod = time.Duration(d.varint("welcome heartbeat period"))
	w.HeartbeatThreshold = time.Duration(d.varint("welcome heartbeat threshold"))
	if d.err == nil && (w.HeartbeatPeriod <= 0 || w.HeartbeatThreshold <= 0) {
		d.fail("welcome: heartbeat durations must be positive")
	}
	return w, d.done("welcome")
}

// AppendText encodes a single string payload (Refused reasons).
func AppendText(b []byte, s string) []byte { return append(b, s...) }

// DecodeText decodes a single string payload.
func DecodeText(p []byte) string { return string(p) }

// AppendTasks encodes a batch of tasks.
func AppendTasks(b []byte, tasks []funcx.Task) []byte {
	e := enc{b}
	e.uvarint(uint64(len(tasks)))
	for i := range tasks {
		appendTask(&e, &tasks[i])
	}
	return e.b
}

// appendTask encodes one task. Every function kind travels in the same
// fields: a Python function's source is its Script and its entry its Name,
// so adding funcx.KindPython changed no payload (ProtocolVersion stays 1)
// and an older worker answers a Python task with InvalidTask (a kind it
// does not know) rather than a broken connection.
func appendTask(e *enc, t *funcx.Task) {
	e.b = append(e.b, t.ID[:]...)
	f := &t.Function
	e.u8(uint8(f.Kind))
	e.str(f.Name)
	e.strs(f.Argv)
	e.str(f.Script)
	e.uvarint(uint64(len(f.Env)))
	for k, v := range f.Env {
		e.str(k)
		e.str(v)
	}
	e.str(f.Dir)
	e.varint(int64(f.Timeout))
	e.uvarint(uint64(f.OutputLimit))
	e.bytes(t.Args)
	e.bytes(t.Stdin)
	e.str(t.Container)
	e.uvarint(uint64(t.Resources.Cores))
	e.varint(t.Resources.MemoryBytes)
	e.uvarint(uint64(t.Resources.GPUs))
	e.uvarint(uint64(t.Attempt))
	e.time(t.Received)
}

// minTaskSize is the fewest bytes a task encodes to (ID plus one byte per
// other field), used to bound a batch's declared count.
const minTaskSize = 16 + 16

// DecodeTasks decodes a batch of tasks. Byte fields alias p.
func DecodeTasks(p []byte) ([]funcx.Task, error) {
	d := dec{b: p}
	n := d.count("tasks count", minTaskSize)
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		decodeTask(&d, &tasks[i])
		if d.err != nil {
			return nil, fmt.Errorf("task %d of %d: %w", i, n, d.err)
		}
	}
	return tasks, d.done("tasks")
}

func decodeTask(d *dec, t *funcx.Task) {
	d.fixed("task id", t.ID[:])
	f := &t.Function
	f.Kind = funcx.FunctionKind(d.u8("function kind"))
	f.Name = d.str("function name")
	f.Argv = d.strs("function argv")
	f.Script = d.str("function script")
	if n := d.count("function env", 2); n > 0 {
		f.Env = make(map[string]string, n)
		for range n {
			k := d.str("function env key")
			f.Env[k] = d.str("function env value")
		}
	}
	f.Dir = d.str("function dir")
	f.Timeout = time.Duration(d.varint("function timeout"))
	f.OutputLimit = d.int("function output limit", maxSmallInt)
	t.Args = d.bytes("task args")
	t.Stdin = d.bytes("task stdin")
	t.Container = d.str("task container")
	t.Resources.Cores = d.int("task cores", maxSmallInt)
	t.Resources.MemoryBytes = d.varint("task memory")
	t.Resources.GPUs = d.int("task gpus", maxSmallInt)
	t.Attempt = d.int("task attempt", maxSmallInt)
	t.Received = d.time("task received")
}

// AppendResults encodes a batch of results.
func AppendResults(b []byte, results []funcx.Result) []byte {
	e := enc{b}
	e.uvarint(uint64(len(results)))
	for i := range results {
		appendResult(&e, &results[i])
	}
	return e.b
}

// appendResult encodes one result into e.
func appendResult(e *enc, r *funcx.Result) {
	e.b = append(e.b, r.TaskID[:]...)
	e.u8(uint8(r.State))
	e.bytes(r.Output)
	e.bytes(r.Stdout)
	e.bytes(r.Stderr)
	e.bool(r.Truncated)
	e.varint(int64(r.ExitCode))
	if r.Error == nil {
		e.u8(0)
	} else {
		e.u8(1)
		e.u8(uint8(r.Error.Kind))
		e.str(r.Error.Message)
		e.str(r.Error.Stack)
	}
	e.uvarint(uint64(r.Attempt))
	e.time(r.Times.Received)
	e.time(r.Times.Dispatched)
	e.time(r.Times.Started)
	e.time(r.Times.Finished)
	e.str(r.Manager)
	e.varint(int64(r.Worker))
}

const minResultSize = 16 + 14

// DecodeResults decodes a batch of results. Byte fields alias p.
func DecodeResults(p []byte) ([]funcx.Result, error) {
	d := dec{b: p}
	n := d.count("results count", minResultSize)
	results := make([]funcx.Result, n)
	for i := range results {
		decodeResult(&d, &results[i])
		if d.err != nil {
			return nil, fmt.Errorf("result %d of %d: %w", i, n, d.err)
		}
	}
	return results, d.done("results")
}

func decodeResult(d *dec, r *funcx.Result) {
	d.fixed("result task id", r.TaskID[:])
	r.State = funcx.TaskState(d.int("result state", maxTaskState))
	r.Output = d.bytes("result output")
	r.Stdout = d.bytes("result stdout")
	r.Stderr = d.bytes("result stderr")
	r.Truncated = d.bool("result truncated")
	r.ExitCode = d.sint("result exit code")
	switch d.u8("result error flag") {
	case 0:
	case 1:
		r.Error = &funcx.TaskError{
			Kind:    funcx.ErrorKind(d.int("result error kind", maxErrKind)),
			Message: d.str("result error message"),
			Stack:   d.str("result error stack"),
		}
	default:
		d.fail("result error flag: not 0 or 1")
	}
	r.Attempt = d.int("result attempt", maxSmallInt)
	r.Times.Received = d.time("result received")
	r.Times.Dispatched = d.time("result dispatched")
	r.Times.Started = d.time("result started")
	r.Times.Finished = d.time("result finished")
	r.Manager = d.str("result manager")
	r.Worker = d.sint("result worker")
}

// AppendTaskIDs encodes a list of task IDs (Return frames).
func AppendTaskIDs(b []byte, ids []funcx.TaskID) []byte {
	e := enc{b}
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		e.b = append(e.b, id[:]...)
	}
	return e.b
}

// DecodeTaskIDs decodes a list of task IDs.
func DecodeTaskIDs(p []byte) ([]funcx.TaskID, error) {
	d := dec{b: p}
	n := d.count("task ids count", 16)
	ids := make([]funcx.TaskID, n)
	for i := range ids {
		d.fixed("task id", ids[i][:])
	}
	return ids, d.done("task ids")
}

// Ready is a worker's announcement that it is up and waiting for a task.
type Ready struct {
	Worker   int
	PID      int
	Hostname string // inside a container, the container's hostname
	// Container is the container type the worker runs in (RAW if none).
	Container string
}

// AppendReady encodes r.
func AppendReady(b []byte, r *Ready) []byte {
	e := enc{b}
	e.varint(int64(r.Worker))
	e.uvarint(uint64(r.PID))
	e.str(r.Hostname)
	e.str(r.Container)
	return e.b
}

// DecodeReady decodes a Ready.
func DecodeReady(p []byte) (Ready, error) {
	d := dec{b: p}
	var r Ready
	r.Worker = d.sint("ready worker")
	r.PID = d.int("ready pid", maxSmallInt)
	r.Hostname = d.str("ready hostname")
	r.Container = d.str("ready container")
	return r, d.done("ready")
}

// TypeStatus is a manager's worker figures for one container type.
type TypeStatus struct {
	Container string
	Workers   int // workers of this type (warm containers)
	Idle      int // of those, idle
}

// Status is a manager's report of its workers, sent when it changes; soft
// routing uses it to find warm containers.
type Status struct {
	Types []TypeStatus
	// ColdStarts and Switches count container starts and evictions since
	// the manager started.
	ColdStarts int
	Switches   int
	WarmHits   int
	// Retired counts idle containers stopped after their idle time, and
	// StartFailures containers that exited before their worker connected.
	// Both were added after the first release of Status: they trail the
	// payload and decode as 0 when absent, so an older manager's frames
	// still decode.
	Retired       int
	StartFailures int
}

// AppendStatus encodes s.
func AppendStatus(b []byte, s *Status) []byte {
	e := enc{b}
	e.uvarint(uint64(len(s.Types)))
	for _, t := range s.Types {
		e.str(t.Container)
		e.uvarint(uint64(t.Workers))
		e.uvarint(uint64(t.Idle))
	}
	e.uvarint(uint64(s.ColdStarts))
	e.uvarint(uint64(s.Switches))
	e.uvarint(uint64(s.WarmHits))
	e.uvarint(uint64(s.Retired))
	e.uvarint(uint64(s.StartFailures))
	return e.b
}

// DecodeStatus decodes a Status.
func DecodeStatus(p []byte) (Status, error) {
	d := dec{b: p}
	var s Status
	n := d.count("status types", 3)
	if n > 0 {
		s.Types = make([]TypeStatus, n)
	}
	for i := range s.Types {
		s.Types[i] = TypeStatus{
			Container: d.str("status container"),
			Workers:   d.int("status workers", maxWorkers),
			Idle:      d.int("status idle", maxWorkers),
		}
	}
	s.ColdStarts = d.int("status cold starts", 1<<62)
	s.Switches = d.int("status switches", 1<<62)
	s.WarmHits = d.int("status warm hits", 1<<62)
	if d.err == nil && len(d.b) > 0 { // trailing fields of later releases
		s.Retired = d.int("status retired", 1<<62)
		s.StartFailures = d.int("status start failures", 1<<62)
	}
	return s, d.done("status")
}
