package client

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// samplePage has results with every field, the optional ones present
// and absent, and strings that need escapes.
func samplePage() api.ResultsPage {
	at := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	strs := []string{"", "plain", `q"uote\back/slash`, "<b>&amp;</b>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f",
		"ünïcødé ✓ 😀", "line\u2028para\u2029"}
	var page api.ResultsPage
	for i, s := range strs {
		r := api.TaskResult{TaskID: s, EndpointID: "ep-" + s, Seq: int64(i) << 40, State: "success", Worker: -i, ExitCode: i - 3}
		switch i % 3 {
		case 0:
			r.Output = json.RawMessage(`{"a":[1,2.5,"x",{"y":[]}],"b":null,"c":"}],"}`)
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

// checkDecode decodes data with decodeResultsPage and encoding/json and
// fails unless both agree.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	var got, want api.ResultsPage
	gotErr := decodeResultsPage(data, &got)
	wantErr := json.Unmarshal(data, &want)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("decode %q: error %v, encoding/json %v", data, gotErr, wantErr)
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decode %q:\n got %+v\nwant %+v", data, got, want)
	}
}

// Pages as the service writes them are read by hand, to what
// encoding/json reads; any other form gets encoding/json's outcome.
func TestDecodeResultsPage(t *testing.T) {
	canonical := map[string]api.ResultsPage{"sample": samplePage(), "empty": {Results: []api.TaskResult{}, Next: 3}, "null": {}}
	for name, p := range canonical {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		d := pageDecoder{data: append(data, '\n')}
		if _, ok := d.page(); !ok {
			t.Errorf("%s: the service's form was left to encoding/json", name)
		}
		checkDecode(t, data)
	}
	data, _ := json.Marshal(samplePage())
	indented, _ := json.MarshalIndent(samplePage(), "", "  ")
	for _, s := range []string{
		string(indented),
		strings.Replace(string(data), `"seq"`, `"Seq"`, 1),                                // keys match case-insensitively
		strings.Replace(string(data), `"state"`, `"extra":1,"state"`, 1),                  // unknown fields are ignored
		strings.Replace(string(data), `"worker"`, `"attempt":null,"worker"`, 1),           // null
		strings.Replace(string(data), `"exit_code":-3`, `"exit_code":-03`, 1),             // not JSON
		strings.Replace(string(data), `"exit_code":-3`, `"exit_code":-3.0`, 1),            // not an int
		strings.Replace(string(data), `"task_id":"plain"`, `"task_id":"\ud83d\ude00"`, 1), // a surrogate pair
		strings.Replace(string(data), `"task_id":"plain"`, `"task_id":"pl\u00e4in\/"`, 1),
		strings.Replace(string(data), `"task_id":"plain"`, "\"task_id\":\"bad \xff\"", 1), // invalid UTF-8
		strings.Replace(string(data), `"b":null`, `"b":nul`, 1),                           // invalid output
		strings.Replace(string(data), `"stdout":"`, `"stdout":"!`, 1),                     // invalid base64
		string(data) + " x",        // trailing data
		string(data[:len(data)-5]), // truncated
		`{"results":[],"next":1,"next":2}`,
		``, `null`, `{}`, `[]`,
	} {
		checkDecode(t, []byte(s))
	}
}

func FuzzDecodeResultsPage(f *testing.F) {
	data, _ := json.Marshal(samplePage())
	f.Add(data)
	f.Add([]byte(`{"results":[],"next":0}`))
	f.Add([]byte(`{"results":[{"task_id":"a","endpoint_id":"b","seq":1,"state":"success","output":null,"exit_code":0,"worker":0,"times":{}}],"next":1}`))
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data) })
}
