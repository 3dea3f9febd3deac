package container_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/container/docker"
)

// failDockerKills makes the daemon's answer to every kill request of d an
// error, as dockerd answers when the container's process does not exit
// (one stuck in the kernel): the request never reaches the daemon, so the
// container keeps running.
func failDockerKills(t testing.TB, d *docker.Runtime) {
	t.Helper()
	var inner http.RoundTripper
	if err := d.WrapTransport(func(next http.RoundTripper) http.RoundTripper { inner = next; return failKills{next: next} }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if tr, ok := inner.(*http.Transport); ok {
			tr.CloseIdleConnections() // Close cannot reach them through the wrapper
		}
	})
}

type failKills struct{ next http.RoundTripper }

func (f failKills) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/kill") {
		return f.next.RoundTrip(r)
	}
	body := `{"message":"Cannot kill container: tried to kill container, but did not receive an exit event"}`
	return &http.Response{
		StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error",
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}
