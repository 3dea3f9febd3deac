package client_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

func TestFunctionRequest(t *testing.T) {
	t.Parallel()
	py := funcx.Python("def f(): pass", "f")
	py.Timeout, py.OutputLimit = 90*time.Second, 100
	sh := funcx.Shell("echo {x}")
	sh.Env, sh.Dir = map[string]string{"A": "1"}, "/tmp"
	for _, tc := range []struct {
		fn   funcx.Function
		want api.RegisterFunctionRequest
	}{
		{py, api.RegisterFunctionRequest{Name: "n", Kind: "python", Source: "def f(): pass", Entry: "f", Timeout: "1m30s", OutputLimit: 100}},
		{sh, api.RegisterFunctionRequest{Name: "n", Kind: "shell", Script: "echo {x}", Env: map[string]string{"A": "1"}, Dir: "/tmp"}},
		{funcx.Command("ls", "-l"), api.RegisterFunctionRequest{Name: "n", Kind: "shell", Argv: []string{"ls", "-l"}}},
		{funcx.GoFunc("noop"), api.RegisterFunctionRequest{Name: "n", Kind: "go", GoName: "noop"}},
	} {
		if got := client.FunctionRequest("n", tc.fn); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: got %+v, want %+v", tc.fn.Kind, got, tc.want)
		}
	}
}
