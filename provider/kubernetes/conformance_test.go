package kubernetes_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/kubernetes"
	"github.com/funcx-go/funcx/provider/kubernetes/kubetest"
	"github.com/funcx-go/funcx/provider/providertest"
)

const testNamespace = "funcx-test"

// cluster is a fake API server with a test kubelet.
type cluster struct {
	client  *fake.Clientset
	kubelet *kubetest.Kubelet
}

func newCluster(t *testing.T, badImages map[string]string) *cluster {
	t.Helper()
	c := &cluster{client: fake.NewClientset()}
	c.kubelet = kubetest.Start(t, c.client, testNamespace, badImages)
	return c
}

func (c *cluster) provider(t *testing.T, cfg kubernetes.Config) *kubernetes.Provider {
	t.Helper()
	cfg.Client = c.client
	cfg.Namespace = testNamespace
	if cfg.Image == "" {
		cfg.Image = "registry.example/funcx-endpoint:test"
	}
	cfg.DeleteGrace = time.Second
	p, err := kubernetes.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// gone reports, as an error, a pod still in the API or with processes.
func (c *cluster) gone(id provider.JobID) error {
	_, err := c.client.CoreV1().Pods(testNamespace).Get(context.Background(), string(id), metav1.GetOptions{})
	if err == nil {
		return fmt.Errorf("pod %s still exists", id)
	}
	if !apierrors.IsNotFound(err) {
		return err
	}
	return c.kubelet.Gone(string(id))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var clusters sync.Map // *kubernetes.Provider -> *cluster
	providertest.RunConformance(t, func(t *testing.T) provider.Provider {
		c := newCluster(t, nil)
		p := c.provider(t, kubernetes.Config{})
		clusters.Store(p, c)
		return p
	}, providertest.Options{
		StderrInMessage: true,
		Walltime:        time.Second,
		UnknownID:       "funcx-no-such-pod",
		CheckGone: func(p provider.Provider, id provider.JobID) error {
			c, ok := clusters.Load(p)
			if !ok {
				return fmt.Errorf("no cluster for provider %p", p)
			}
			return c.(*cluster).gone(id)
		},
		Timeout: 60 * time.Second,
	})
}
