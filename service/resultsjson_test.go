package service

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// appendResultsPage writes what encoding/json writes.
func TestAppendResultsPage(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	strs := []string{"", "plain", `q"uote\back`, "<b>&amp;</b>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f",
		"ünïcødé ✓ 😀", "bad \xff utf8 \xc3", "line\u2028para\u2029", "a\u00a0b"}
	var page api.ResultsPage
	for i, s := range strs {
		r := api.TaskResult{TaskID: s, EndpointID: "ep-" + s, Seq: int64(i) << 40, State: "success", Worker: -i, ExitCode: i - 3}
		switch i % 3 {
		case 0:
			r.Output = json.RawMessage(`{"a":[1,2.5,"x"],"b":null}`)
			r.Stdout, r.Stderr = []byte(s), []byte{0, 1, 2, 250}
			r.Truncated, r.Attempt, r.Manager = true, i, s
			r.Times = api.Times{Submitted: at, Received: at.Add(1), Dispatched: at.Add(1000), Started: at.Add(time.Second), Finished: at.Add(time.Hour), Stored: at.In(time.FixedZone("x", 3600))}
		case 1:
			r.State = "failed"
			r.Error = &api.TaskError{Kind: "task_error", Message: s, Stack: s + "\n\tat x"}
			r.Times = api.Times{Finished: at}
		case 2:
			r.Error = &api.TaskError{Kind: s}
			r.Output = json.RawMessage(`"` + "str" + `"`)
		}
		page.Results = append(page.Results, r)
		page.Next = r.Seq
	}
	for _, p := range []api.ResultsPage{page, {Results: []api.TaskResult{}, Next: 7}, {}} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(p); err != nil {
			t.Fatal(err)
		}
		if got := appendResultsPage(nil, &p); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("appendResultsPage:\n got %s\nwant %s", got, want.Bytes())
		}
	}
}
