package client

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/api/apitest"
)

// samplePage has results with every field, the optional ones present
// and absent, and strings that need escapes.
func samplePage() api.ResultsPage {
	return apitest.ResultsPage([]string{"", "plain", `q"uote\back/slash`, "<b>&amp;</b>", "tab\tnl\ncr\rbs\bff\f\x00\x1f\x7f",
		"ünïcødé ✓ 😀", "line\u2028para\u2029"}, json.RawMessage(`{"a":[1,2.5,"x",{"y":[]}],"b":null,"c":"}],"}`))
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
