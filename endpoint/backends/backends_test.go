package backends_test

import (
	"slices"
	"testing"

	"github.com/funcx-go/funcx/container"
	_ "github.com/funcx-go/funcx/endpoint/backends"
	"github.com/funcx-go/funcx/provider"
)

// Every provider type and container runtime config.toml may name is
// linked.
func TestEverythingIsLinked(t *testing.T) {
	t.Parallel()
	if got, want := provider.Types(), []string{"kubernetes", "local", "pbs", "slurm"}; !slices.Equal(got, want) {
		t.Errorf("provider types %v, want %v", got, want)
	}
	if got, want := container.Names(), []string{"docker", "shifter", "singularity"}; !slices.Equal(got, want) {
		t.Errorf("container runtimes %v, want %v", got, want)
	}
}
