package kubernetes

import (
	"errors"
	"fmt"
	"os"

	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// newClient builds a clientset: from the in-cluster configuration when
// no kubeconfig is named and the process runs in a pod, else from the
// kubeconfig (the named file, or $KUBECONFIG, or ~/.kube/config).
func newClient(cfg *Config) (k8s.Interface, error) {
	rc, err := restConfig(cfg)
	if err != nil {
		return nil, err
	}
	rc.Timeout = cfg.RequestTimeout
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("make Kubernetes client: %w", err)
	}
	return cs, nil
}

func restConfig(cfg *Config) (*rest.Config, error) {
	if cfg.Kubeconfig == "" && cfg.Context == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster Kubernetes config: %w", err)
		}
		return rc, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cfg.Kubeconfig != "" {
		rules.ExplicitPath = cfg.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: cfg.Context}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no Kubernetes configuration: set provider.kubernetes.kubeconfig, $KUBECONFIG or ~/.kube/config, or run the endpoint in a pod: %w", err)
		}
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	return rc, nil
}
