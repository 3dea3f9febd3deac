package service_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

func TestRegisterFunction(t *testing.T) {
	t.Parallel()
	b := setup(t)

	bad := []struct {
		name string
		req  api.RegisterFunctionRequest
		want string
	}{
		{"no kind", api.RegisterFunctionRequest{Script: "true"}, "kind is required"},
		{"bad kind", api.RegisterFunctionRequest{Kind: "perl", Script: "true"}, `kind "perl" is unknown`},
		{"python without source", api.RegisterFunctionRequest{Kind: "python", Entry: "f"}, "source (Script) is empty"},
		{"python without entry", api.RegisterFunctionRequest{Kind: "python", Source: "def f(): pass"}, `entry "" is not a Python identifier`},
		{"python with script", api.RegisterFunctionRequest{Kind: "python", Source: "def f(): pass", Entry: "f", Script: "x"}, "not for kind \"python\""},
		{"python with env", api.RegisterFunctionRequest{Kind: "python", Source: "def f(): pass", Entry: "f", Env: map[string]string{"A": "1"}}, "env and dir are for shell functions"},
		{"python too large", api.RegisterFunctionRequest{Kind: "python", Source: strings.Repeat("#", funcx.MaxPythonSource+1), Entry: "f"}, "move the bulk into a module"},
		{"source on a shell function", api.RegisterFunctionRequest{Kind: "shell", Script: "true", Source: "x"}, "source and entry are for kind \"python\""},
		{"shell without argv or script", api.RegisterFunctionRequest{Kind: "shell"}, "set Argv or Script"},
		{"shell with both", api.RegisterFunctionRequest{Kind: "shell", Argv: []string{"true"}, Script: "true"}, "not both"},
		{"shell with go_name", api.RegisterFunctionRequest{Kind: "shell", Script: "true", GoName: "f"}, "go_name is for kind"},
		{"empty argv[0]", api.RegisterFunctionRequest{Kind: "shell", Argv: []string{""}}, "Argv[0] is empty"},
		{"go without go_name", api.RegisterFunctionRequest{Kind: "go"}, "Name is empty"},
		{"go with script", api.RegisterFunctionRequest{Kind: "go", GoName: "f", Script: "x"}, "argv and script are for kind"},
		{"bad timeout", api.RegisterFunctionRequest{Kind: "go", GoName: "f", Timeout: "soon"}, `timeout "soon" is not a duration`},
		{"negative timeout", api.RegisterFunctionRequest{Kind: "go", GoName: "f", Timeout: "-1s"}, "is negative"},
		{"negative output limit", api.RegisterFunctionRequest{Kind: "go", GoName: "f", OutputLimit: -1}, "output limit -1 is negative"},
		{"bad env", api.RegisterFunctionRequest{Kind: "go", GoName: "f", Env: map[string]string{"A=B": "c"}}, "not a valid environment variable"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, data := b.do(t, "POST", api.PathFunctions, b.alice.token, tc.req)
			wantError(t, code, data, http.StatusBadRequest, tc.want)
		})
	}

	good := []api.RegisterFunctionRequest{
		echo,
		{Name: "script", Kind: "shell", Script: "echo {x}", Env: map[string]string{"A": "1"}, Dir: "/tmp", OutputLimit: 100},
		{Name: "sum", Kind: "go", GoName: "sum", Timeout: "1m30s"},
		{Name: "integrate", Kind: "python", Source: "def integrate(f, n):\n    return 0\n", Entry: "integrate", Timeout: "5s", OutputLimit: 10},
	}
	for _, req := range good {
		t.Run("round trip "+req.Name, func(t *testing.T) {
			t.Parallel()
			id := b.registerFunction(t, b.alice, req)
			var f api.Function
			b.mustDo(t, "GET", api.PathFunction+id, b.alice.token, nil, &f)
			if f.FunctionID != id || f.Owner != b.alice.id || f.CreatedAt.IsZero() || !reflect.DeepEqual(f.RegisterFunctionRequest, req) {
				t.Fatalf("got %+v, registered %+v", f, req)
			}
			code, data := b.do(t, "GET", api.PathFunction+id, b.bob.token, nil)
			wantError(t, code, data, http.StatusNotFound, "function "+id+" not found")
		})
	}
}
