package kubernetes

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/funcx-go/funcx/provider/kubernetes/podconfig"
)

// Defaults applied by Config.WithDefaults.
const (
	DefaultNamespace       = podconfig.DefaultNamespace
	DefaultShell           = podconfig.DefaultShell
	DefaultImagePullPolicy = corev1.PullPolicy(podconfig.DefaultImagePullPolicy)
	// DefaultRequestTimeout bounds each call to the API server.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultDeleteGrace is the pod's terminationGracePeriodSeconds:
	// time for managers to stop their workers and report their tasks.
	DefaultDeleteGrace = podconfig.DefaultDeleteGrace
	// DefaultContainerName names the pod's one container.
	DefaultContainerName = "manager"
)

// Config configures a Kubernetes Provider.
type Config struct {
	// Client talks to the API server. Defaults to a clientset built from
	// Kubeconfig and Context, or from the in-cluster configuration.
	Client k8s.Interface
	// Kubeconfig is the path of a kubeconfig file. Defaults to "": the
	// in-cluster configuration (service account token) when running in a
	// pod, else $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context to use. Defaults to the file's
	// current context.
	Context string
	// Namespace is where pods are created. Defaults to DefaultNamespace.
	Namespace string
	// Image is the container image of every pod; it must hold Shell and
	// the funcx-endpoint binary. Required: defaults to none, which
	// Validate refuses.
	Image string
	// ImagePullPolicy is Always, IfNotPresent or Never. Defaults to
	// DefaultImagePullPolicy.
	ImagePullPolicy corev1.PullPolicy
	// ImagePullSecret names a secret in Namespace holding registry
	// credentials. Defaults to none.
	ImagePullSecret string
	// ServiceAccount runs the pods. Defaults to "": the namespace's
	// default account, with its token not mounted (managers do not talk
	// to the API server).
	ServiceAccount string
	// CPURequest is the container's CPU request, a Kubernetes quantity
	// ("500m", "2"). Defaults to the job's CoresPerNode when set, else
	// none.
	CPURequest string
	// CPULimit is the container's CPU limit. Defaults to none.
	CPULimit string
	// MemoryRequest is the container's memory request, a Kubernetes
	// quantity ("4Gi"). Defaults to the job's MemoryPerNode when set,
	// else none.
	MemoryRequest string
	// MemoryLimit is the container's memory limit. Defaults to none.
	MemoryLimit string
	// RunAsUser is the pod's user ID. Defaults to 0: the image's user.
	RunAsUser int64
	// RunAsGroup is the pod's group ID. Defaults to 0: the image's
	// group.
	RunAsGroup int64
	// AllowRoot lets the container run as root. Defaults to false: pods
	// have runAsNonRoot, so an image whose user is root must be given a
	// RunAsUser.
	AllowRoot bool
	// Shell runs the block's script with -c. The launchers need bash.
	// Defaults to DefaultShell.
	Shell string
	// Labels are put on every pod, e.g. the endpoint's identity.
	// Defaults to none.
	Labels map[string]string
	// DeleteGrace is the pods' termination grace period. Defaults to
	// DefaultDeleteGrace.
	DeleteGrace time.Duration
	// KeepFinishedPods leaves ended pods in place for inspection
	// (kubectl logs); RemoveOrphans deletes them later. Defaults to
	// false: deleted once their state is recorded.
	KeepFinishedPods bool
	// RequestTimeout bounds each API call. Defaults to
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Logger receives pod lifecycle events. Defaults to nil: quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with unset fields defaulted. Client
// is built by New, not here.
func (c Config) WithDefaults() Config {
	c.Namespace = cmp.Or(c.Namespace, DefaultNamespace)
	c.ImagePullPolicy = cmp.Or(c.ImagePullPolicy, DefaultImagePullPolicy)
	c.Shell = cmp.Or(c.Shell, DefaultShell)
	c.DeleteGrace = cmp.Or(c.DeleteGrace, DefaultDeleteGrace)
	c.RequestTimeout = cmp.Or(c.RequestTimeout, DefaultRequestTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports every impossible value, naming the field.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Image == "" {
		bad("Image", "required: an image holding %s and the funcx-endpoint binary", cmp.Or(c.Shell, DefaultShell))
	}
	for _, msg := range validation.IsDNS1123Label(c.Namespace) {
		bad("Namespace", "%q: %s", c.Namespace, msg)
	}
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		bad("ImagePullPolicy", "%q is not Always, IfNotPresent or Never", c.ImagePullPolicy)
	}
	for field, name := range map[string]string{"ImagePullSecret": c.ImagePullSecret, "ServiceAccount": c.ServiceAccount} {
		if name == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			bad(field, "%q: %s", name, msg)
		}
	}
	for field, q := range map[string]string{"CPURequest": c.CPURequest, "CPULimit": c.CPULimit, "MemoryRequest": c.MemoryRequest, "MemoryLimit": c.MemoryLimit} {
		if q == "" {
			continue
		}
		if v, err := resource.ParseQuantity(q); err != nil {
			bad(field, "%q is not a Kubernetes quantity (like 500m, 2, 4Gi): %v", q, err)
		} else if v.Sign() <= 0 {
			bad(field, "%q must be positive", q)
		}
	}
	for _, pair := range [][3]string{{"CPURequest", c.CPURequest, c.CPULimit}, {"MemoryRequest", c.MemoryRequest, c.MemoryLimit}} {
		req, err1 := resource.ParseQuantity(pair[1])
		lim, err2 := resource.ParseQuantity(pair[2])
		if err1 == nil && err2 == nil && req.Cmp(lim) > 0 {
			bad(pair[0], "%s exceeds the limit %s", pair[1], pair[2])
		}
	}
	if c.RunAsUser < 0 || c.RunAsGroup < 0 {
		bad("RunAsUser", "user (%d) and group (%d) IDs must not be negative", c.RunAsUser, c.RunAsGroup)
	}
	if err := validateLabels(c.Labels); err != nil {
		bad("Labels", "%v", err)
	}
	if c.DeleteGrace < 0 || c.RequestTimeout < 0 {
		bad("DeleteGrace", "durations must not be negative")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid Kubernetes provider config: %w", err)
	}
	return nil
}

// validateLabels checks keys and values as the API server would.
func validateLabels(labels map[string]string) error {
	var errs []error
	for k, v := range labels {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, fmt.Errorf("label key %q: %s", k, msg))
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs = append(errs, fmt.Errorf("label %s value %q: %s", k, v, msg))
		}
	}
	return errors.Join(errs...)
}
