// Package apitest holds test data of the service's API shared by the
// service's tests and the SDK's.
package apitest

import (
	"encoding/json"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// AwkwardStrings need escapes in JSON, or are not UTF-8 at all.
var AwkwardStrings = []string{"", "plain", `q"uote\back/slash`, "<b>&amp;</b>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f",
	"ünïcødé ✓ 😀", "bad \xff utf8 \xc3", "line\u2028para\u2029", "a\u00a0b"}

// ResultsPage has one result per string of strs, which fills its string
// fields, with every field of a result present in some and absent in
// others; outputs are the Output of every third result, cycled.
func ResultsPage(strs []string, outputs ...json.RawMessage) api.ResultsPage {
	at := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	var page api.ResultsPage
	for i, s := range strs {
		r := api.TaskResult{TaskID: s, EndpointID: "ep-" + s, Seq: int64(i) << 40, State: "success", Worker: -i, ExitCode: i - 3}
		switch i % 3 {
		case 0:
			if len(outputs) > 0 {
				r.Output = outputs[(i/3)%len(outputs)]
			}
			r.Stdout, r.Stderr = []byte(s), []byte{0, 1, 2, 250}
			r.Truncated, r.Attempt, r.Manager = true, i, s
			r.Times = api.Times{Submitted: at, Received: at.Add(1), Dispatched: at.Add(1000), Started: at.Add(time.Second), Finished: at.Add(time.Hour), Stored: at.In(time.FixedZone("x", 3600))}
		case 1:
			r.State = "failed"
			r.Error = &api.TaskError{Kind: "task_error", Message: s, Stack: s + "\n\tat x"}
			r.Times = api.Times{Finished: at}
		case 2:
			r.Error = &api.TaskError{Kind: s}
			r.Output = json.RawMessage(`-0.5e3`)
		}
		page.Results = append(page.Results, r)
		page.Next = r.Seq
	}
	return page
}
