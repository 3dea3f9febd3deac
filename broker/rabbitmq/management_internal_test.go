package rabbitmq

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Management calls retry the 500 that RabbitMQ answers while a concurrent
// change is under way (here: a deleted user's connections already
// closing), and give up on other errors at once.
func TestManagementRetriesServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replies  []int
		wantErr  string
		wantHits int32
	}{
		{"500 then done", []int{500, 204}, "", 2},
		{"500 then gone", []int{500, 404}, "", 2},
		{"500 every time", []int{500, 500, 500, 500}, "500 Internal Server Error", serverErrorAttempts},
		{"401 at once", []int{401, 204}, "check ManagementUser/ManagementPassword", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := hits.Add(1)
				if r.Method != http.MethodDelete || r.URL.EscapedPath() != "/api/connections/username/funcx-ep-x" {
					t.Errorf("request %s %s", r.Method, r.URL.EscapedPath())
				}
				w.WriteHeader(tc.replies[n-1])
			}))
			defer srv.Close()
			m, err := newManagement(srv.URL, "guest", "guest", nil, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer m.close()
			err = m.closeUserConnections(context.Background(), "funcx-ep-x")
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tc.wantErr)
			}
			if got := hits.Load(); got != tc.wantHits {
				t.Errorf("%d requests, want %d", got, tc.wantHits)
			}
		})
	}
}
