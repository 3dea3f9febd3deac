package endpoint_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/funcx-go/funcx/endpoint"
)

// kubeConfig is a valid provider.type = "kubernetes" configuration.
func kubeConfig() endpoint.Config {
	return endpoint.Config{
		InterchangeAddr: "10.0.0.5:50055",
		ManagerCommand:  []string{"/usr/local/bin/funcx-endpoint"},
		Provider: endpoint.ProviderConfig{Type: "kubernetes", Kubernetes: endpoint.KubernetesConfig{
			Image: "registry.example/funcx-endpoint:1", CPURequest: "1", CPULimit: "2", MemoryRequest: "1Gi", MemoryLimit: "2Gi",
		}},
	}
}

func TestKubernetesConfigValidate(t *testing.T) {
	t.Parallel()
	if c := kubeConfig().WithDefaults(); c.Validate() != nil {
		t.Fatalf("valid config refused: %v", c.Validate())
	}
	for name, tc := range map[string]struct {
		mutate func(*endpoint.Config)
		want   string
	}{
		"no image":        {func(c *endpoint.Config) { c.Provider.Kubernetes.Image = "" }, "provider.kubernetes.image: required"},
		"bad cpu":         {func(c *endpoint.Config) { c.Provider.Kubernetes.CPURequest = "lots" }, `provider.kubernetes.cpu_request: "lots" is not a Kubernetes quantity`},
		"bad memory":      {func(c *endpoint.Config) { c.Provider.Kubernetes.MemoryLimit = "4 GB" }, "provider.kubernetes.memory_limit"},
		"request > limit": {func(c *endpoint.Config) { c.Provider.Kubernetes.MemoryRequest = "3Gi" }, "provider.kubernetes.memory_request: 3Gi exceeds provider.kubernetes.memory_limit (2Gi)"},
		"namespace":       {func(c *endpoint.Config) { c.Provider.Kubernetes.Namespace = "My_NS" }, "provider.kubernetes.namespace"},
		"pull policy":     {func(c *endpoint.Config) { c.Provider.Kubernetes.ImagePullPolicy = "Sometimes" }, "provider.kubernetes.image_pull_policy"},
		"pull secret":     {func(c *endpoint.Config) { c.Provider.Kubernetes.ImagePullSecret = "a b" }, "provider.kubernetes.image_pull_secret"},
		"service account": {func(c *endpoint.Config) { c.Provider.Kubernetes.ServiceAccount = "A!" }, "provider.kubernetes.service_account"},
		"run as user":     {func(c *endpoint.Config) { c.Provider.Kubernetes.RunAsUser = -5 }, "provider.kubernetes.run_as_user"},
		"endpoint label":  {func(c *endpoint.Config) { c.Provider.Kubernetes.EndpointLabel = "-x-" }, "provider.kubernetes.endpoint_label"},
		"delete grace":    {func(c *endpoint.Config) { c.Provider.Kubernetes.DeleteGrace = -1 }, "provider.kubernetes.delete_grace"},
		"several nodes":   {func(c *endpoint.Config) { c.Provider.NodesPerBlock = 2 }, "provider.nodes_per_block"},
		"loopback":        {func(c *endpoint.Config) { c.InterchangeAddr = "127.0.0.1:0" }, "interchange_addr"},
		"soft routing":    {func(c *endpoint.Config) { c.ContainerRouting = endpoint.RoutingSoft }, "container_routing"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := kubeConfig()
			tc.mutate(&c)
			c = c.WithDefaults()
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
	// The table is ignored for other provider types.
	other := endpoint.Config{Provider: endpoint.ProviderConfig{Kubernetes: endpoint.KubernetesConfig{CPURequest: "lots"}}}.WithDefaults()
	if err := other.Validate(); err != nil {
		t.Errorf("local provider with a bad kubernetes table: %v", err)
	}
}

// writeKubeconfig writes a kubeconfig whose one context is the cluster
// described by the YAML flow mapping cluster, and returns its path.
func writeKubeconfig(t *testing.T, cluster string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: ` + cluster + `
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
users:
- name: u
  user: {token: t}
`
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// NewEngine does no I/O: it builds the Kubernetes provider without
// reading the kubeconfig or asking the API server. Start, with the
// caller's context, looks for the pods of an earlier run before the first
// block; an API server it cannot reach is an error then, not a silent
// later failure.
//
// Not parallel: it clears KUBERNETES_SERVICE_HOST.
func TestEngineOnUnreachableKubernetes(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	path := writeKubeconfig(t, `{server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}`)
	start := func(cfg endpoint.Config, ctx context.Context) error {
		t.Helper()
		cfg.InterchangeAddr = "0.0.0.0:0" // pods could reach it; nobody dials
		cfg.AdvertiseAddr = "10.0.0.5:50055"
		e, err := endpoint.NewEngine(cfg)
		if err != nil {
			t.Fatalf("NewEngine: %v", err)
		}
		err = e.Start(ctx)
		if stopErr := e.Stop(context.Background()); stopErr != nil {
			t.Errorf("Stop after a failed Start: %v", stopErr)
		}
		return err
	}
	cfg := kubeConfig()
	cfg.Provider.Kubernetes.Kubeconfig = path
	err := start(cfg, context.Background())
	if err == nil || !strings.Contains(err.Error(), "remove the pods an earlier run left (labels funcx-endpoint=default)") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("Start = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := start(cfg, ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context = %v, want context.Canceled", err)
	}
	cfg.Provider.Kubernetes.Kubeconfig = filepath.Join(t.TempDir(), "missing")
	if err := start(cfg, context.Background()); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Start with a missing kubeconfig = %v", err)
	}
}

// apiServer is a fake Kubernetes API server that records every request
// and knows one pod, an orphan of an earlier run of this endpoint; it
// takes the pods of new blocks and forgets them.
type apiServer struct {
	mu    sync.Mutex
	calls []string // "METHOD path?labelSelector"
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.calls = append(a.calls, r.Method+" "+r.URL.Path+"?"+r.URL.Query().Get("labelSelector"))
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/default/pods":
		_, _ = io.WriteString(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"orphan-1","namespace":"default"}}]}`)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/namespaces/default/pods":
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"block-0","namespace":"default"}}`)
	case r.Method == http.MethodDelete:
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"NotFound","code":404}`)
	}
}

func (a *apiServer) Calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// NewEngine makes no call to the API server (a constructor does no I/O,
// and it has no context to bound one); Start, with the caller's context,
// finds and deletes the pod an earlier run of the endpoint left before it
// creates the pod of its first block.
//
// Not parallel: it clears KUBERNETES_SERVICE_HOST.
func TestNewEngineCallsNoAPIServer(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	api := &apiServer{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	path := writeKubeconfig(t, `{server: "`+srv.URL+`"}`)
	cfg := kubeConfig()
	cfg.InterchangeAddr = "0.0.0.0:0" // pods could reach it; none is started
	cfg.AdvertiseAddr = "10.0.0.5:50055"
	cfg.Provider.Kubernetes.Kubeconfig = path
	e, err := endpoint.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if calls := api.Calls(); len(calls) != 0 {
		t.Fatalf("NewEngine called the API server: %q", calls)
	}
	err = e.Start(context.Background())
	started := api.Calls()
	if stopErr := e.Stop(context.Background()); stopErr != nil {
		t.Errorf("Stop: %v", stopErr)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	want := []string{
		"GET /api/v1/namespaces/default/pods?app.kubernetes.io/managed-by=funcx,funcx-endpoint=default",
		"DELETE /api/v1/namespaces/default/pods/orphan-1?",
		"POST /api/v1/namespaces/default/pods?",
	}
	if !slices.Equal(started, want) {
		t.Errorf("Start called the API server with\n%q\nwant\n%q", started, want)
	}
}
