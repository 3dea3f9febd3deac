package endpoint

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/kubernetes"
)

// Defaults of KubernetesConfig.
const (
	DefaultKubernetesNamespace       = kubernetes.DefaultNamespace
	DefaultKubernetesImagePullPolicy = string(kubernetes.DefaultImagePullPolicy)
	DefaultKubernetesShell           = kubernetes.DefaultShell
	DefaultKubernetesDeleteGrace     = kubernetes.DefaultDeleteGrace
	// DefaultKubernetesEndpointLabel is the endpoint label's value when
	// display_name is empty.
	DefaultKubernetesEndpointLabel = "default"
	// KubernetesEndpointLabelKey is the pod label naming the endpoint;
	// RemoveOrphans matches it.
	KubernetesEndpointLabelKey = "funcx-endpoint"
)

// KubernetesConfig is the [provider.kubernetes] table: how blocks run as
// pods. Only read when provider.type is kubernetes. Each block is one pod
// running the block's managers and their workers; set manager_command to
// the funcx-endpoint binary's path inside the image, and interchange_addr
// (or advertise_addr) to an address pods can reach.
type KubernetesConfig struct {
	// Image is the container image of the block's pod; it must hold the
	// funcx-endpoint binary (which serves the manager and worker roles)
	// and the shell. Required: defaults to none, which is refused.
	Image string `toml:"image"`
	// Namespace is where pods are created. Defaults to "default".
	Namespace string `toml:"namespace"`
	// ImagePullPolicy is Always, IfNotPresent or Never. Defaults to
	// IfNotPresent.
	ImagePullPolicy string `toml:"image_pull_policy"`
	// ImagePullSecret names a secret in the namespace with registry
	// credentials. Defaults to none.
	ImagePullSecret string `toml:"image_pull_secret"`
	// ServiceAccount runs the pods. Defaults to the namespace's default
	// account, with no API token mounted.
	ServiceAccount string `toml:"service_account"`
	// CPURequest is the container's CPU request, a Kubernetes quantity
	// ("500m", "2"). Defaults to provider.cores_per_node when that is set,
	// else none.
	CPURequest string `toml:"cpu_request"`
	// CPULimit is the container's CPU limit, a Kubernetes quantity.
	// Defaults to none.
	CPULimit string `toml:"cpu_limit"`
	// MemoryRequest is the container's memory request, a Kubernetes
	// quantity ("512Mi", "4Gi"). Defaults to provider.mem_per_node when
	// that is set, else none.
	MemoryRequest string `toml:"memory_request"`
	// MemoryLimit is the container's memory limit, a Kubernetes quantity.
	// Defaults to none.
	MemoryLimit string `toml:"memory_limit"`
	// Kubeconfig is the path of a kubeconfig file. Defaults to the
	// in-cluster service account when the endpoint runs in a pod, else
	// $KUBECONFIG or ~/.kube/config.
	Kubeconfig string `toml:"kubeconfig"`
	// Context is the kubeconfig context. Defaults to the file's current
	// context.
	Context string `toml:"context"`
	// RunAsUser is the user ID the pod runs as. Defaults to 0: the
	// image's user.
	RunAsUser int64 `toml:"run_as_user"`
	// RunAsGroup is the group ID the pod runs as. Defaults to 0: the
	// image's group.
	RunAsGroup int64 `toml:"run_as_group"`
	// AllowRoot lets the container run as root. Defaults to false: pods
	// run with runAsNonRoot, so an image whose user is root needs
	// run_as_user.
	AllowRoot bool `toml:"allow_root"`
	// Shell runs the block's script with -c; the launchers need bash.
	// Defaults to "/bin/bash".
	Shell string `toml:"shell"`
	// EndpointLabel is the value of the funcx-endpoint label on this
	// endpoint's pods. When the endpoint starts, pods carrying it are
	// deleted as orphans of an earlier run, so endpoints sharing a
	// namespace need different values. Defaults to display_name (made a
	// valid label value), or "default".
	EndpointLabel string `toml:"endpoint_label"`
	// DeleteGrace is the pods' termination grace period: time for
	// managers to stop their workers when a block is cancelled. Defaults
	// to 30s.
	DeleteGrace time.Duration `toml:"delete_grace"`
	// KeepFinishedPods leaves ended pods for inspection (kubectl logs)
	// until the endpoint's next start. Defaults to false: deleted once
	// their final state is recorded.
	KeepFinishedPods bool `toml:"keep_finished_pods"`
}

func (k KubernetesConfig) withDefaults() KubernetesConfig {
	k.Namespace = cmp.Or(k.Namespace, DefaultKubernetesNamespace)
	k.ImagePullPolicy = cmp.Or(k.ImagePullPolicy, DefaultKubernetesImagePullPolicy)
	k.Shell = cmp.Or(k.Shell, DefaultKubernetesShell)
	k.DeleteGrace = cmp.Or(k.DeleteGrace, DefaultKubernetesDeleteGrace)
	return k
}

// validate reports impossible values through bad, naming the config.toml
// key. c is the whole configuration, for rules that span tables.
func (k *KubernetesConfig) validate(c *Config, bad func(key, format string, args ...any)) {
	if c.Provider.Type != "kubernetes" {
		return
	}
	const p = "provider.kubernetes."
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
	if k.Image == "" {
		bad(p+"image", "required: an image holding the funcx-endpoint binary (set manager_command to its path in the image)")
	}
	for _, msg := range validation.IsDNS1123Label(k.Namespace) {
		bad(p+"namespace", "%q: %s", k.Namespace, msg)
	}
	switch corev1.PullPolicy(k.ImagePullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		bad(p+"image_pull_policy", "%q is not Always, IfNotPresent or Never", k.ImagePullPolicy)
	}
	for key, name := range map[string]string{"image_pull_secret": k.ImagePullSecret, "service_account": k.ServiceAccount} {
		if name == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			bad(p+key, "%q: %s", name, msg)
		}
	}
	quantities := map[string]string{"cpu_request": k.CPURequest, "cpu_limit": k.CPULimit, "memory_request": k.MemoryRequest, "memory_limit": k.MemoryLimit}
	for key, q := range quantities {
		if q == "" {
			continue
		}
		if v, err := resource.ParseQuantity(q); err != nil {
			bad(p+key, "%q is not a Kubernetes quantity (like \"500m\", \"2\", \"4Gi\")", q)
		} else if v.Sign() <= 0 {
			bad(p+key, "%q must be positive", q)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		req, err1 := resource.ParseQuantity(quantities[r+"_request"])
		lim, err2 := resource.ParseQuantity(quantities[r+"_limit"])
		if err1 == nil && err2 == nil && req.Cmp(lim) > 0 {
			bad(p+r+"_request", "%s exceeds %s_limit (%s)", req.String(), r, lim.String())
		}
	}
	if k.RunAsUser < 0 {
		bad(p+"run_as_user", "%d is negative", k.RunAsUser)
	}
	if k.RunAsGroup < 0 {
		bad(p+"run_as_group", "%d is negative", k.RunAsGroup)
	}
	if k.EndpointLabel != "" {
		for _, msg := range validation.IsValidLabelValue(k.EndpointLabel) {
			bad(p+"endpoint_label", "%q: %s", k.EndpointLabel, msg)
		}
	}
	if k.DeleteGrace < 0 {
		bad(p+"delete_grace", "%s is negative", k.DeleteGrace)
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

// endpointLabel is the funcx-endpoint label value of this endpoint.
func (k *KubernetesConfig) endpointLabel(displayName string) string {
	if k.EndpointLabel != "" {
		return k.EndpointLabel
	}
	return cmp.Or(kubernetes.LabelValue(displayName), DefaultKubernetesEndpointLabel)
}

// newKubernetesProvider builds the provider and removes the pods an
// earlier run of this endpoint left behind, before any block is
// submitted.
func newKubernetesProvider(cfg *Config) (provider.Provider, error) {
	k := &cfg.Provider.Kubernetes
	labels := map[string]string{KubernetesEndpointLabelKey: k.endpointLabel(cfg.DisplayName)}
	p, err := kubernetes.New(kubernetes.Config{
		Kubeconfig:       k.Kubeconfig,
		Context:          k.Context,
		Namespace:        k.Namespace,
		Image:            k.Image,
		ImagePullPolicy:  corev1.PullPolicy(k.ImagePullPolicy),
		ImagePullSecret:  k.ImagePullSecret,
		ServiceAccount:   k.ServiceAccount,
		CPURequest:       k.CPURequest,
		CPULimit:         k.CPULimit,
		MemoryRequest:    k.MemoryRequest,
		MemoryLimit:      k.MemoryLimit,
		RunAsUser:        k.RunAsUser,
		RunAsGroup:       k.RunAsGroup,
		AllowRoot:        k.AllowRoot,
		Shell:            k.Shell,
		Labels:           labels,
		DeleteGrace:      k.DeleteGrace,
		KeepFinishedPods: k.KeepFinishedPods,
		RequestTimeout:   cfg.Provider.CommandTimeout,
		Logger:           cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("provider.kubernetes: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Provider.CommandTimeout)
	defer cancel()
	if _, err := p.RemoveOrphans(ctx, labels); err != nil {
		return nil, fmt.Errorf("provider.kubernetes: remove the pods of an earlier run (label %s=%s): %w", KubernetesEndpointLabelKey, labels[KubernetesEndpointLabelKey], err)
	}
	return p, nil
}
