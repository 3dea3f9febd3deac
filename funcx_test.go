package funcx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/funcx-go/funcx"
)

func TestTaskStateText(t *testing.T) {
	t.Parallel()
	for s := funcx.StateUnknown; s <= funcx.StateFailed; s++ {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back funcx.TaskState
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Fatalf("%v: round trip gave %v, %v", s, back, err)
		}
	}
	if funcx.StateRunning.String() != "running" || !funcx.StateFailed.Terminal() || funcx.StateRunning.Terminal() {
		t.Fatal("names or terminal states are off")
	}
	if _, err := funcx.ParseTaskState("exploded"); err == nil {
		t.Fatal("unknown state parsed")
	}
}

func TestTaskErrorMatchesItsKind(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", funcx.Errorf(funcx.WorkerLost, "worker %d died", 3))
	if !errors.Is(err, funcx.ErrWorkerLost) || errors.Is(err, funcx.ErrManagerLost) {
		t.Fatalf("errors.Is does not follow the kind: %v", err)
	}
	var te *funcx.TaskError
	if !errors.As(err, &te) || te.Message != "worker 3 died" || err.Error() != "wrapped: WorkerLost: worker 3 died" {
		t.Fatalf("got %v", err)
	}
	if !funcx.WorkerLost.IsSystemFailure() || funcx.RemoteError.IsSystemFailure() {
		t.Fatal("system failures are WorkerLost and ManagerLost")
	}
	b, _ := json.Marshal(funcx.TaskTimeout)
	var k funcx.ErrorKind
	if err := json.Unmarshal(b, &k); err != nil || k != funcx.TaskTimeout {
		t.Fatalf("kind round trip: %v %v", k, err)
	}
}

// EndpointDeleted has a sentinel and a text form like every kind, and
// an unknown kind encodes as InternalError, not as the newest kind.
func TestEndpointDeletedKind(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("task x: %w", funcx.Errorf(funcx.EndpointDeleted, "endpoint e was deleted"))
	if !errors.Is(err, funcx.ErrEndpointDeleted) || errors.Is(err, funcx.ErrCancelled) || funcx.EndpointDeleted.IsSystemFailure() {
		t.Fatalf("errors.Is does not follow the kind: %v", err)
	}
	if err.Error() != "task x: EndpointDeleted: endpoint e was deleted" {
		t.Fatalf("text %q", err)
	}
	b, _ := json.Marshal(funcx.EndpointDeleted)
	var k funcx.ErrorKind
	if err := json.Unmarshal(b, &k); string(b) != `"EndpointDeleted"` || err != nil || k != funcx.EndpointDeleted {
		t.Fatalf("kind round trip: %s -> %v %v", b, k, err)
	}
	if b, _ := json.Marshal(funcx.ErrorKind(200)); string(b) != `"InternalError"` {
		t.Fatalf("an unknown kind encodes as %s", b)
	}
}

func TestFunctionValidate(t *testing.T) {
	t.Parallel()
	good := []funcx.Function{funcx.Shell("true"), funcx.Command("true"), funcx.GoFunc("noop")}
	for _, f := range good {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	bad := map[string]funcx.Function{
		"empty shell":      {Kind: funcx.KindShell},
		"empty argv0":      {Kind: funcx.KindShell, Argv: []string{""}},
		"unnamed go":       {Kind: funcx.KindGo},
		"unknown kind":     {Kind: 9, Name: "x"},
		"negative timeout": {Kind: funcx.KindGo, Name: "x", Timeout: -1},
	}
	for name, f := range bad {
		if err := f.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
