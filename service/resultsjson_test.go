package service

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/api/apitest"
)

// appendResultsPage writes what encoding/json writes.
func TestAppendResultsPage(t *testing.T) {
	page := apitest.ResultsPage(apitest.AwkwardStrings, json.RawMessage(`{"a":[1,2.5,"x"],"b":null}`), json.RawMessage(`"str"`))
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
