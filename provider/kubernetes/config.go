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
	if err := errors.Join(c.problems(func(field string) string { return field })...); err != nil {
		return fmt.Errorf("invalid Kubernetes provider config: %w", err)
	}
	return nil
}

// problems returns an error for each impossible value, starting with
// the name key gives its field: the Go field for Validate, the
// config.toml key for the endpoint's driver (register.go).
func (c Config) problems(key func(field string) string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key(field), fmt.Sprintf(format, args...)))
	}
	if c.Image == "" {
		bad("Image", "required: an image holding %s and the funcx-endpoint binary (the endpoint's manager_command is its path in the image)", cmp.Or(c.Shell, DefaultShell))
	}
	for _, msg := range validation.IsDNS1123Label(c.Namespace) {
		bad("Namespace", "%q: %s", c.Namespace, msg)
	}
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		bad("ImagePullPolicy", "%q is not Always, IfNotPresent or Never", c.ImagePullPolicy)
	}
	for _, f := range [][2]string{{"ImagePullSecret", c.ImagePullSecret}, {"ServiceAccount", c.ServiceAccount}} {
		if f[1] == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(f[1]) {
			bad(f[0], "%q: %s", f[1], msg)
		}
	}
	for _, f := range [][2]string{{"CPURequest", c.CPURequest}, {"CPULimit", c.CPULimit}, {"MemoryRequest", c.MemoryRequest}, {"MemoryLimit", c.MemoryLimit}} {
		if f[1] == "" {
			continue
		}
		if v, err := resource.ParseQuantity(f[1]); err != nil {
			bad(f[0], "%q is not a Kubernetes quantity (like \"500m\", \"2\", \"4Gi\")", f[1])
		} else if v.Sign() <= 0 {
			bad(f[0], "%q must be positive", f[1])
		}
	}
	for _, r := range [][4]string{{"CPURequest", c.CPURequest, "CPULimit", c.CPULimit}, {"MemoryRequest", c.MemoryRequest, "MemoryLimit", c.MemoryLimit}} {
		req, err1 := resource.ParseQuantity(r[1])
		lim, err2 := resource.ParseQuantity(r[3])
		if err1 == nil && err2 == nil && req.Cmp(lim) > 0 {
			bad(r[0], "%s exceeds %s (%s)", req.String(), key(r[2]), lim.String())
		}
	}
	if c.RunAsUser < 0 {
		bad("RunAsUser", "%d is negative", c.RunAsUser)
	}
	if c.RunAsGroup < 0 {
		bad("RunAsGroup", "%d is negative", c.RunAsGroup)
	}
	if err := validateLabels(c.Labels); err != nil {
		bad("Labels", "%v", err)
	}
	if c.DeleteGrace < 0 {
		bad("DeleteGrace", "%s is negative", c.DeleteGrace)
	}
	if c.RequestTimeout < 0 {
		bad("RequestTimeout", "%s is negative", c.RequestTimeout)
	}
	return errs
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
