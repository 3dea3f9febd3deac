package service_test

import (
	"bytes"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
)

// fuzzHandler feeds arbitrary bodies to a route through the real handler
// with a valid token: whatever the input, the answer is a client error or
// a success, never a 500 or a panic.
func fuzzHandler(f *testing.F, method, path string, seeds ...string) {
	b := setup(f)
	b.broker.discard = true
	ep := b.registerEndpoint(f, b.alice)
	fn := b.registerFunction(f, b.alice, echo)
	f.Add([]byte(`{"endpoint_id":"` + ep + `","tasks":[{"function_id":"` + fn + `","args":{"msg":"x"}}]}`))
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, data := b.do(t, method, path, b.alice.token, body)
		if code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, path, body, code, data)
		}
		// The same body of undeclared length (chunked) takes the other
		// way through readBody, and must be answered alike.
		rec := sendUnsized(b, method, path, "application/json", body)
		if rec.Code != code {
			t.Fatalf("%s %s with %q: %d, but %d %s when chunked", method, path, body, code, rec.Code, rec.Body)
		}
	})
}

// sendUnsized sends body with no Content-Length, as alice.
func sendUnsized(b *bundle, method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, io.MultiReader(bytes.NewReader(body)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+b.alice.token)
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	b.svc.Handler().ServeHTTP(rec, req)
	return rec
}

func FuzzSubmitRequest(f *testing.F) {
	fuzzHandler(f, "POST", api.PathTasks,
		``, `{}`, `{"endpoint_id":"x","tasks":[]}`, `{"tasks":[{"stdin":"!!"}]}`, `{"tasks":[{"args":`, `null`, `[]`,
		`{"endpoint_id":"00000000-0000-0000-0000-000000000000","tasks":[{"task_id":"00000000-0000-0000-0000-000000000000"}]}`)
}

func FuzzRegisterFunction(f *testing.F) {
	fuzzHandler(f, "POST", api.PathFunctions,
		`{"kind":"shell","argv":["echo"]}`, `{"kind":"go","go_name":"f","timeout":"1h"}`, `{"kind":"shell","script":"x","env":{"":""}}`,
		`{"kind":"shell","script":"x","timeout":"9999999999999h"}`, `{"kind":"shell","argv":[""],"output_limit":-1}`,
		`{"kind":"python","source":"def f(x):\n return x\n","entry":"f"}`, `{"kind":"python","source":"x","entry":"1"}`)
}

func FuzzTokenRequest(f *testing.F) {
	fuzzHandler(f, "POST", api.PathToken,
		`{"grant_type":"client_credentials","client_id":"a","client_secret":"b"}`, `{"client_id":1}`, `grant_type=x`)
}

// FuzzTokenForm feeds arbitrary form bodies to POST /v1/token.
func FuzzTokenForm(f *testing.F) {
	b := setup(f)
	for _, s := range []string{"grant_type=client_credentials&client_id=" + b.alice.clientID + "&client_secret=" + b.alice.secret,
		"client_id=%zz", "a=1;b=2", "", "client_id=x&client_id=y", strings.Repeat("a=", 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := sendUnsized(b, "POST", api.PathToken, "application/x-www-form-urlencoded", body)
		if rec.Code >= 500 {
			t.Fatalf("form %q: %d %s", body, rec.Code, rec.Body)
		}
	})
}

func FuzzRegisterEndpoint(f *testing.F) {
	fuzzHandler(f, "POST", api.PathEndpoints, `{"name":"x"}`, `{"endpoint_id":"x","name":"y"}`, `{"name":"\u0000"}`)
}

func FuzzTaskStatus(f *testing.F) {
	fuzzHandler(f, "POST", api.PathTaskStatus, `{"task_ids":["00000000-0000-0000-0000-000000000000"]}`, `{"task_ids":null}`)
}

// FuzzResultsQuery feeds arbitrary query strings to GET /v1/results,
// which parses after, wait and limit from them. MaxWait is tiny so that a
// valid wait does not hold an iteration.
func FuzzResultsQuery(f *testing.F) {
	b := setup(f, func(c *service.Config) { c.MaxWait = time.Millisecond })
	for _, s := range []string{"after=0&wait=0s", "after=-1", "wait=1h&limit=99999999999999999999", "limit=0", "after=x&wait=%", "wait=NaNs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		target := api.PathResults + "?" + query
		if _, err := url.ParseRequestURI(target); err != nil || strings.ContainsAny(query, " #\r\n\t") {
			return // not a request line a client could send
		}
		code, data := b.do(t, "GET", target, b.alice.token, nil)
		if code >= 500 {
			t.Fatalf("GET %s: %d %s", target, code, data)
		}
	})
}
