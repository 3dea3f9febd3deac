package kubernetes_test

import (
	"strings"
	"testing"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/kubernetes"
	"github.com/funcx-go/funcx/provider/kubernetes/podconfig"
)

// Importing the package registers the type; its driver builds a provider
// from the [provider.kubernetes] table without I/O and checks the table,
// naming config.toml's keys.
func TestDriver(t *testing.T) {
	t.Parallel()
	d, err := provider.Lookup(kubernetes.Type)
	if err != nil {
		t.Fatal(err)
	}
	s := provider.Settings{Type: kubernetes.Type, Options: podconfig.Config{Image: "i", Kubeconfig: "/nonexistent"}}
	if p, err := d.New(s); err != nil || p == nil {
		t.Errorf("New = %v, %v", p, err)
	}
	if _, err := d.New(provider.Settings{Type: kubernetes.Type, Options: 42}); err == nil {
		t.Error("New took options of another type")
	}
	v, ok := d.(provider.Validator)
	if !ok {
		t.Fatal("the driver does not validate")
	}
	s.Options = podconfig.Config{Namespace: "Bad_NS", CPURequest: "1", CPULimit: "500m"}
	err = v.Validate(s)
	for _, want := range []string{"provider.kubernetes.image: required", "provider.kubernetes.namespace:", "provider.kubernetes.cpu_request: 1 exceeds provider.kubernetes.cpu_limit (500m)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
}

func TestEndpointLabel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		table       podconfig.Config
		displayName string
		want        string
	}{
		{podconfig.Config{EndpointLabel: "mine"}, "ignored", "mine"},
		{podconfig.Config{}, "My Endpoint!", "My_Endpoint"},
		{podconfig.Config{}, "", podconfig.DefaultEndpointLabel},
	} {
		if got := kubernetes.EndpointLabel(tc.table, tc.displayName); got != tc.want {
			t.Errorf("EndpointLabel(%+v, %q) = %q, want %q", tc.table, tc.displayName, got, tc.want)
		}
	}
}
