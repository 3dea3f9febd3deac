package endpoint

import (
	"cmp"
	"net"

	"github.com/funcx-go/funcx/provider/kubernetes/podconfig"
)

// Defaults of KubernetesConfig.
const (
	DefaultKubernetesNamespace       = podconfig.DefaultNamespace
	DefaultKubernetesImagePullPolicy = podconfig.DefaultImagePullPolicy
	DefaultKubernetesShell           = podconfig.DefaultShell
	DefaultKubernetesDeleteGrace     = podconfig.DefaultDeleteGrace
	// DefaultKubernetesEndpointLabel is the endpoint label's value when
	// display_name is empty.
	DefaultKubernetesEndpointLabel = podconfig.DefaultEndpointLabel
	// KubernetesEndpointLabelKey is the pod label naming the endpoint;
	// the pods of an earlier run are found by it when the engine starts.
	KubernetesEndpointLabelKey = podconfig.EndpointLabelKey
)

// KubernetesConfig is the [provider.kubernetes] table: how blocks run as
// pods, read when provider.type is kubernetes. It is plain data
// (podconfig imports nothing of Kubernetes); provider/kubernetes, which
// must be linked for the type, checks its values and builds the pods.
type KubernetesConfig = podconfig.Config

// validateKubernetes reports, through bad, the rules that tie the
// Kubernetes provider to the rest of the configuration; the table's own
// values are its driver's to check.
func (c *Config) validateKubernetes(bad func(key, format string, args ...any)) {
	if c.Provider.Type != ProviderKubernetes {
		return
	}
	if c.ContainerRouting == RoutingSoft {
		bad("container_routing", "soft routing is not supported with provider.type = \"kubernetes\": pods are deployed per image, so use container_routing = \"hard\"")
	}
	if c.WorkerMode != WorkerModeNoContainer {
		bad("worker_mode", "%q does not apply with provider.type = \"kubernetes\": the pods are the containers; keep worker_mode = \"no_container\" and list the images in container.images with container_routing = \"hard\" to get pods per image", c.WorkerMode)
	}
	if c.Provider.NodesPerBlock > 1 {
		bad("provider.nodes_per_block", "%d: a Kubernetes block is one pod on one node; use 1 and raise provider.max_blocks", c.Provider.NodesPerBlock)
	}
	if addr := cmp.Or(c.AdvertiseAddr, c.InterchangeAddr); isLoopback(addr) {
		bad("interchange_addr", "%q is a loopback address, which pods cannot reach; listen on an address they can (or set advertise_addr)", addr)
	}
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
