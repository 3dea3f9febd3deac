package endpoint_test

import (
	"os"
	"path/filepath"
	"strings"
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
		"request > limit": {func(c *endpoint.Config) { c.Provider.Kubernetes.MemoryRequest = "3Gi" }, "provider.kubernetes.memory_request: 3Gi exceeds memory_limit (2Gi)"},
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

// The engine builds the Kubernetes provider and, before its first block,
// looks for orphan pods; an API server it cannot reach is an error then,
// not a silent later failure.
//
// Not parallel: it clears KUBERNETES_SERVICE_HOST.
func TestEngineOnUnreachableKubernetes(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
contexts:
- name: nowhere
  context: {cluster: nowhere, user: u}
current-context: nowhere
users:
- name: u
  user: {token: t}
`
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := kubeConfig()
	cfg.Provider.Kubernetes.Kubeconfig = path
	_, err := endpoint.NewEngine(cfg)
	if err == nil || !strings.Contains(err.Error(), "provider.kubernetes: remove the pods of an earlier run") || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("NewEngine = %v", err)
	}
	cfg.Provider.Kubernetes.Kubeconfig = filepath.Join(t.TempDir(), "missing")
	if _, err := endpoint.NewEngine(cfg); err == nil || !strings.Contains(err.Error(), "provider.kubernetes") {
		t.Errorf("NewEngine with a missing kubeconfig = %v", err)
	}
}
