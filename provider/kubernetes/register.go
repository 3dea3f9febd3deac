package kubernetes

import (
	"cmp"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

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
	p, err := New(providerConfig(t, s))
	if err != nil {
		return nil, fmt.Errorf("provider.kubernetes: %w", err)
	}
	return p, nil
}

// providerConfig is the provider's Config for an endpoint's table and
// settings.
func providerConfig(t podconfig.Config, s provider.Settings) Config {
	return Config{
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
	}
}

// tableKeys are the [provider.kubernetes] keys of Config's fields.
var tableKeys = map[string]string{
	"Image": "image", "Namespace": "namespace", "ImagePullPolicy": "image_pull_policy",
	"ImagePullSecret": "image_pull_secret", "ServiceAccount": "service_account",
	"CPURequest": "cpu_request", "CPULimit": "cpu_limit", "MemoryRequest": "memory_request", "MemoryLimit": "memory_limit",
	"RunAsUser": "run_as_user", "RunAsGroup": "run_as_group", "Labels": "endpoint_label", "DeleteGrace": "delete_grace",
}

// Validate reports every impossible value of the table, naming its
// config.toml key: the checks of Config.Validate.
func (driver) Validate(s provider.Settings) error {
	t, err := table(s)
	if err != nil {
		return err
	}
	c := providerConfig(t, s).WithDefaults()
	c.RequestTimeout = 0 // provider.command_timeout: the endpoint checks it
	return errors.Join(c.problems(func(field string) string {
		return "provider.kubernetes." + cmp.Or(tableKeys[field], field)
	})...)
}
