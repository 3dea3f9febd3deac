package endpoint_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The library's core links no backend it does not use: a program that
// embeds an endpoint with the local provider must not link client-go or
// the Docker client (681 packages before backends registered themselves;
// about 160 since). Providers and container runtimes are linked by
// importing their packages (endpoint/backends links them all).
func TestCoreLinksNoHeavyBackend(t *testing.T) {
	t.Parallel()
	// The packages of backends the core may link: the default provider
	// and the Kubernetes table as plain data.
	light := map[string]string{
		"github.com/funcx-go/funcx/provider/local":                "endpoint's default",
		"github.com/funcx-go/funcx/provider/kubernetes/podconfig": "plain data",
	}
	core := []string{"endpoint", "interchange", "manager", "worker", "routing", "provider", "container"}
	for _, pkg := range core {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "github.com/funcx-go/funcx/"+pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				switch {
				case light[dep] != "":
				case strings.HasPrefix(dep, "k8s.io/"), strings.HasPrefix(dep, "github.com/docker/"),
					strings.HasPrefix(dep, "github.com/funcx-go/funcx/provider/"),
					strings.HasPrefix(dep, "github.com/funcx-go/funcx/container/"):
					t.Errorf("%s links %s: backends are linked by importing them (endpoint/backends), not by the core", pkg, dep)
				}
			}
		})
	}
}
