package wire

import (
	"bytes"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
)

// The decoders read bytes from the network (managers, workers): none may
// panic, and whatever decodes must encode back to a payload that decodes
// to the same thing.

func FuzzDecodeTasks(f *testing.F) {
	f.Add(AppendTasks(nil, sampleTasks()))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, p []byte) {
		tasks, err := DecodeTasks(p)
		if err != nil {
			return
		}
		again, err := DecodeTasks(AppendTasks(nil, tasks))
		if err != nil {
			t.Fatalf("re-encoded tasks do not decode: %v", err)
		}
		if len(again) != len(tasks) {
			t.Fatalf("count changed %d -> %d", len(tasks), len(again))
		}
	})
}

func FuzzDecodeResults(f *testing.F) {
	f.Add(AppendResults(nil, []funcx.Result{{TaskID: funcx.NewTaskID(), State: funcx.StateFailed, Error: &funcx.TaskError{Kind: funcx.RemoteError, Message: "x"}, Times: funcx.Timings{Started: time.Unix(5, 0)}}}))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, p []byte) {
		results, err := DecodeResults(p)
		if err != nil {
			return
		}
		if _, err := DecodeResults(AppendResults(nil, results)); err != nil {
			t.Fatalf("re-encoded results do not decode: %v", err)
		}
	})
}

func FuzzDecodeControl(f *testing.F) {
	f.Add(uint8(MsgHello), AppendHello(nil, &Hello{Version: 1, Secret: "s", ContainerTypes: []string{"x"}}))
	f.Add(uint8(MsgWelcome), AppendWelcome(nil, &Welcome{HeartbeatPeriod: 1, HeartbeatThreshold: 2}))
	f.Add(uint8(MsgReady), AppendReady(nil, &Ready{Worker: 1}))
	f.Add(uint8(MsgStatus), AppendStatus(nil, &Status{Types: []TypeStatus{{Container: "a"}}}))
	f.Add(uint8(MsgStatus), AppendStatus(nil, &Status{WarmHits: 5, Retired: 1, StartFailures: 2}))
	f.Add(uint8(MsgReturn), AppendTaskIDs(nil, []funcx.TaskID{funcx.NewTaskID()}))
	f.Fuzz(func(t *testing.T, typ uint8, p []byte) {
		switch MsgType(typ % 12) {
		case MsgHello:
			_, _ = DecodeHello(p)
		case MsgWelcome:
			_, _ = DecodeWelcome(p)
		case MsgReady:
			_, _ = DecodeReady(p)
		case MsgStatus:
			s, err := DecodeStatus(p)
			if err != nil {
				return
			}
			again, err := DecodeStatus(AppendStatus(nil, &s))
			if err != nil || again.WarmHits != s.WarmHits || again.StartFailures != s.StartFailures || len(again.Types) != len(s.Types) {
				t.Fatalf("status does not survive a round trip: %+v -> %+v, %v", s, again, err)
			}
		default:
			_, _ = DecodeTaskIDs(p)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	w := NewWriter(&buf, 0)
	_ = w.WriteFrame(MsgTasks, AppendTasks(nil, sampleTasks()))
	_ = w.Flush()
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 1, 6})
	f.Fuzz(func(t *testing.T, stream []byte) {
		r := NewReader(bytes.NewReader(stream), 1<<16)
		for range 64 {
			if _, _, err := r.ReadFrame(); err != nil {
				return
			}
		}
	})
}
