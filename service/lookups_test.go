package service_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/service/api"
)

// Submissions remember endpoints and functions (lookups.go), which must
// not let another identity in, nor outlive the endpoint's deletion.
func TestSubmissionLookups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ep := b.registerEndpoint(t, b.alice)
	fn := b.registerFunction(t, b.alice, echo)
	b.submit(t, b.alice, ep, fn, 1) // both remembered now

	bobEP := b.registerEndpoint(t, b.bob)
	bobFn := b.registerFunction(t, b.bob, echo)
	for _, c := range []struct{ ep, fn, want string }{
		{ep, bobFn, "endpoint " + ep + " not found"},
		{bobEP, fn, "function " + fn + " not found"},
		{strings.ToUpper(ep), bobFn, "endpoint " + ep + " not found"},
	} {
		code, data := b.do(t, "POST", api.PathTasks, b.bob.token, api.SubmitRequest{EndpointID: c.ep, Tasks: []api.TaskSubmit{{FunctionID: c.fn}}})
		wantError(t, code, data, http.StatusNotFound, c.want)
	}

	if code, data := b.do(t, "DELETE", api.PathEndpoint+strings.ToUpper(ep), b.alice.token, nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, data)
	}
	code, data := b.do(t, "POST", api.PathTasks, b.alice.token, api.SubmitRequest{EndpointID: ep, Tasks: []api.TaskSubmit{{FunctionID: fn}}})
	wantError(t, code, data, http.StatusGone, "endpoint "+ep+" was deleted")
}
