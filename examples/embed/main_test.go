package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/provider"
)

// The test binary is the endpoint's manager and workers too.
func TestMain(m *testing.M) {
	endpoint.ServeChildRole()
	os.Exit(m.Run())
}

// The whole program: service, endpoint with this program's provider and
// router, tasks through the SDK, every result checked.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := run(ctx, 50, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
}

// This program links no backend but the local provider, so a profile
// naming another is refused, with the import that would link it.
func TestBackendsNotLinkedAreNamed(t *testing.T) {
	t.Parallel()
	_, err := endpoint.NewEngine(endpoint.Config{
		InterchangeAddr: "10.0.0.5:0",
		Provider:        endpoint.ProviderConfig{Type: "kubernetes", Kubernetes: endpoint.KubernetesConfig{Image: "x"}},
	})
	if want := `provider type "kubernetes" is not linked into this program: import _ "github.com/funcx-go/funcx/provider/kubernetes"`; !errors.Is(err, provider.ErrNotLinked) || !strings.Contains(err.Error(), want) {
		t.Errorf("kubernetes: %v\nwant %s", err, want)
	}
	_, err = endpoint.NewEngine(endpoint.Config{WorkerMode: endpoint.WorkerModeDocker, ContainerRouting: endpoint.RoutingSoft})
	if want := `container runtime "docker" is not linked into this program: import _ "github.com/funcx-go/funcx/container/docker"`; !errors.Is(err, container.ErrNotLinked) || !strings.Contains(err.Error(), want) {
		t.Errorf("docker: %v\nwant %s", err, want)
	}
}
