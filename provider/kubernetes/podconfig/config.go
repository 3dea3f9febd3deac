// Package podconfig holds the [provider.kubernetes] table of an
// endpoint's config.toml as plain data: how blocks run as pods. It
// imports nothing of Kubernetes, so that the endpoint package can carry
// the table without linking client-go; provider/kubernetes, which
// registers the kubernetes provider type, validates it and builds pods
// from it.
package podconfig

import (
	"cmp"
	"time"
)

// Defaults of Config.
const (
	DefaultNamespace       = "default"
	DefaultImagePullPolicy = "IfNotPresent"
	DefaultShell           = "/bin/bash"
	DefaultDeleteGrace     = 30 * time.Second
	// DefaultEndpointLabel is the endpoint label's value when neither
	// EndpointLabel nor the endpoint's display name gives one.
	DefaultEndpointLabel = "default"
	// EndpointLabelKey is the pod label naming the endpoint; the pods
	// an earlier run left are found by it.
	EndpointLabelKey = "funcx-endpoint"
)

// Config is the [provider.kubernetes] table: how blocks run as pods. Only
// read when provider.type is kubernetes. Each block is one pod running
// the block's managers and their workers; set manager_command to the
// funcx-endpoint binary's path inside the image, and interchange_addr (or
// advertise_addr) to an address pods can reach.
type Config struct {
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

// WithDefaults returns a copy of c with zero fields set to their
// defaults.
func (c Config) WithDefaults() Config {
	c.Namespace = cmp.Or(c.Namespace, DefaultNamespace)
	c.ImagePullPolicy = cmp.Or(c.ImagePullPolicy, DefaultImagePullPolicy)
	c.Shell = cmp.Or(c.Shell, DefaultShell)
	c.DeleteGrace = cmp.Or(c.DeleteGrace, DefaultDeleteGrace)
	return c
}
