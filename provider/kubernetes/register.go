package kubernetes

import (
	"cmp"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/kubernetes/podconfig"
)

// Type is the provider type this package registers, as provider.type
// names it in config.toml. Its table, [provider.kubernetes], is a
// podconfig.Config in provider.Settings.Options.
const Type = "kubernetes"

func init() { provider.Register(Type, driver{}) }

// driver builds providers from an endpoint's [provider.kubernetes] table.
type driver struct{}

var _ provider.Validator = driver{}

// table is the [provider.kubernetes] table of s, defaulted.
func table(s provider.Settings) (podconfig.Config, error) {
	switch t := s.Options.(type) {
	case nil:
		return podconfig.Config{}.WithDefaults(), nil
	case podconfig.Config:
		return t.WithDefaults(), nil
	case *podconfig.Config:
		return t.WithDefaults(), nil
	}
	return podconfig.Config{}, fmt.Errorf("provider.kubernetes: the settings' options are a %T, not a podconfig.Config", s.Options)
}

// EndpointLabel is the value of the podconfig.EndpointLabelKey label on
// the pods of an endpoint with this table and display name.
func EndpointLabel(t podconfig.Config, displayName string) string {
	if t.EndpointLabel != "" {
		return t.EndpointLabel
	}
	return cmp.Or(LabelValue(displayName), podconfig.DefaultEndpointLabel)
}

// New builds the provider. Its pods carry the endpoint's label, by which
// Start finds the pods an earlier run left.
func (driver) New(s provider.Settings) (provider.Provider, error) {
	t, err := table(s)
	if err != nil {
		return nil, err
	}
	p, err := New(Config{
		Kubeconfig:       t.Kubeconfig,
		Context:          t.Context,
		Namespace:        t.Namespace,
		Image:            t.Image,
		ImagePullPolicy:  corev1.PullPolicy(t.ImagePullPolicy),
		ImagePullSecret:  t.ImagePullSecret,
		ServiceAccount:   t.ServiceAccount,
		CPURequest:       t.CPURequest,
		CPULimit:         t.CPULimit,
		MemoryRequest:    t.MemoryRequest,
		MemoryLimit:      t.MemoryLimit,
		RunAsUser:        t.RunAsUser,
		RunAsGroup:       t.RunAsGroup,
		AllowRoot:        t.AllowRoot,
		Shell:            t.Shell,
		Labels:           map[string]string{podconfig.EndpointLabelKey: EndpointLabel(t, s.EndpointName)},
		DeleteGrace:      t.DeleteGrace,
		KeepFinishedPods: t.KeepFinishedPods,
		RequestTimeout:   s.CommandTimeout,
		Logger:           s.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("provider.kubernetes: %w", err)
	}
	return p, nil
}

// Validate reports every impossible value of the table, naming its
// config.toml key.
func (driver) Validate(s provider.Settings) error {
	t, err := table(s)
	if err != nil {
		return err
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("provider.kubernetes.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if t.Image == "" {
		bad("image", "required: an image holding the funcx-endpoint binary (set manager_command to its path in the image)")
	}
	for _, msg := range validation.IsDNS1123Label(t.Namespace) {
		bad("namespace", "%q: %s", t.Namespace, msg)
	}
	switch corev1.PullPolicy(t.ImagePullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		bad("image_pull_policy", "%q is not Always, IfNotPresent or Never", t.ImagePullPolicy)
	}
	for key, name := range map[string]string{"image_pull_secret": t.ImagePullSecret, "service_account": t.ServiceAccount} {
		if name == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			bad(key, "%q: %s", name, msg)
		}
	}
	quantities := map[string]string{"cpu_request": t.CPURequest, "cpu_limit": t.CPULimit, "memory_request": t.MemoryRequest, "memory_limit": t.MemoryLimit}
	for key, q := range quantities {
		if q == "" {
			continue
		}
		if v, err := resource.ParseQuantity(q); err != nil {
			bad(key, "%q is not a Kubernetes quantity (like \"500m\", \"2\", \"4Gi\")", q)
		} else if v.Sign() <= 0 {
			bad(key, "%q must be positive", q)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		req, err1 := resource.ParseQuantity(quantities[r+"_request"])
		lim, err2 := resource.ParseQuantity(quantities[r+"_limit"])
		if err1 == nil && err2 == nil && req.Cmp(lim) > 0 {
			bad(r+"_request", "%s exceeds %s_limit (%s)", req.String(), r, lim.String())
		}
	}
	if t.RunAsUser < 0 {
		bad("run_as_user", "%d is negative", t.RunAsUser)
	}
	if t.RunAsGroup < 0 {
		bad("run_as_group", "%d is negative", t.RunAsGroup)
	}
	if t.EndpointLabel != "" {
		for _, msg := range validation.IsValidLabelValue(t.EndpointLabel) {
			bad("endpoint_label", "%q: %s", t.EndpointLabel, msg)
		}
	}
	if t.DeleteGrace < 0 {
		bad("delete_grace", "%s is negative", t.DeleteGrace)
	}
	return errors.Join(errs...)
}
