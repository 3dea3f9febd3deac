package kubernetes_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/kubernetes"
	"github.com/funcx-go/funcx/provider/providertest"
)

func waitEnded(t *testing.T, p provider.Provider, id provider.JobID) provider.JobStatus {
	t.Helper()
	var st provider.JobStatus
	providertest.WaitFor(t, 30*time.Second, "pod "+string(id)+" ended", func() bool {
		sts, err := p.Status(context.Background(), []provider.JobID{id})
		if err != nil {
			t.Fatal(err)
		}
		st = sts[0]
		return st.State.Terminal()
	})
	return st
}

func TestImagePullFailure(t *testing.T) {
	t.Parallel()
	c := newCluster(t, map[string]string{"registry.example/missing:1": `failed to pull and unpack image "registry.example/missing:1": not found`})
	p := c.provider(t, kubernetes.Config{Image: "registry.example/missing:1"})
	id, err := p.Submit(context.Background(), provider.Job{BlockID: "0", Command: "exit 0"})
	if err != nil {
		t.Fatal(err)
	}
	st := waitEnded(t, p, id)
	if st.State != provider.JobFailed || !strings.Contains(st.Message, "not found") {
		t.Errorf("status = %+v, want failed with the pull error", st)
	}
	providertest.WaitFor(t, 10*time.Second, "the failed pod deleted", func() bool { return c.gone(id) == nil })
	// Its final state is remembered after the pod is gone.
	if sts, err := p.Status(context.Background(), []provider.JobID{id}); err != nil || sts[0].State != provider.JobFailed || sts[0].Message != st.Message {
		t.Errorf("status after deletion = %+v, %v", sts, err)
	}
}

func TestKeepFinishedPods(t *testing.T) {
	t.Parallel()
	c := newCluster(t, nil)
	p := c.provider(t, kubernetes.Config{KeepFinishedPods: true})
	id, err := p.Submit(context.Background(), provider.Job{BlockID: "0", Command: "echo bye >&2; exit 4"})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitEnded(t, p, id); st.State != provider.JobFailed || st.ExitCode != 4 || !strings.Contains(st.Message, "bye") {
		t.Errorf("status = %+v", st)
	}
	pod, err := c.client.CoreV1().Pods(testNamespace).Get(context.Background(), string(id), metav1.GetOptions{})
	if err != nil || pod.Status.Phase != corev1.PodFailed {
		t.Errorf("kept pod = %v, %v", pod, err)
	}
}

func TestRemoveOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, nil)
	dead := c.provider(t, kubernetes.Config{Labels: map[string]string{"funcx-endpoint": "ep-1"}})
	other := c.provider(t, kubernetes.Config{Labels: map[string]string{"funcx-endpoint": "ep-2"}})
	var orphans []string
	for i := range 2 {
		id, err := dead.Submit(ctx, provider.Job{BlockID: string(rune('a' + i)), Command: "sleep 3600", Labels: map[string]string{"funcx-run": "old"}})
		if err != nil {
			t.Fatal(err)
		}
		orphans = append(orphans, string(id))
	}
	keep, err := other.Submit(ctx, provider.Job{BlockID: "a", Command: "sleep 3600"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Cancel(ctx, []provider.JobID{keep}) })

	// A new run of endpoint ep-1 cleans up when it starts, not before.
	restarted := c.provider(t, kubernetes.Config{Labels: map[string]string{"funcx-endpoint": "ep-1"}})
	if got, err := c.client.CoreV1().Pods(testNamespace).List(ctx, metav1.ListOptions{}); err != nil || len(got.Items) != 3 {
		t.Fatalf("New touched the pods: %v, %v", got, err)
	}
	if err := restarted.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range orphans {
		providertest.WaitFor(t, 10*time.Second, "orphan "+name+" gone", func() bool { return c.gone(provider.JobID(name)) == nil })
	}
	if _, err := c.client.CoreV1().Pods(testNamespace).Get(ctx, string(keep), metav1.GetOptions{}); err != nil {
		t.Errorf("another endpoint's pod was touched: %v", err)
	}
}

// apiError makes the fake API server answer verb on pods with err.
func apiError(c *cluster, verb string, err error) {
	c.client.PrependReactor(verb, "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, err })
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", os.ErrPermission)
	forbidden.ErrStatus.Message = `pods is forbidden: User "system:serviceaccount:funcx:default" cannot create resource "pods" in API group "" in the namespace "funcx-test"`

	t.Run("create", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, nil)
		apiError(c, "create", forbidden)
		p := c.provider(t, kubernetes.Config{})
		if _, err := p.Submit(ctx, provider.Job{BlockID: "0", Command: "true"}); err == nil || !strings.Contains(err.Error(), "cannot create resource") {
			t.Errorf("Submit = %v", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, nil)
		apiError(c, "list", apierrors.NewServiceUnavailable("etcd is down"))
		p := c.provider(t, kubernetes.Config{})
		if _, err := p.Status(ctx, []provider.JobID{"x"}); err == nil || !strings.Contains(err.Error(), "etcd is down") {
			t.Errorf("Status = %v", err)
		}
		if _, err := p.RemoveOrphans(ctx, nil); err == nil {
			t.Error("RemoveOrphans with the API down returned nil")
		}
	})
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, nil)
		p := c.provider(t, kubernetes.Config{})
		if err := p.Cancel(ctx, []provider.JobID{"never-existed"}); err != nil {
			t.Errorf("Cancel of a missing pod = %v", err)
		}
		apiError(c, "delete", forbidden)
		if err := p.Cancel(ctx, []provider.JobID{"x"}); err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Errorf("Cancel = %v", err)
		}
	})
	t.Run("a timed-out request is an error", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, nil)
		c.client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, context.DeadlineExceeded // what a timed-out request returns
		})
		p := c.provider(t, kubernetes.Config{RequestTimeout: 10 * time.Millisecond})
		if _, err := p.Status(ctx, []provider.JobID{"x"}); err == nil {
			t.Error("Status returned nil")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		cfg  kubernetes.Config
		want string
	}{
		"no image":           {kubernetes.Config{}, "Image: required"},
		"bad namespace":      {kubernetes.Config{Image: "i", Namespace: "Bad_NS"}, "Namespace"},
		"bad quantity":       {kubernetes.Config{Image: "i", CPURequest: "two"}, `CPURequest: "two" is not a Kubernetes quantity`},
		"negative quantity":  {kubernetes.Config{Image: "i", MemoryLimit: "-1Gi"}, "MemoryLimit"},
		"request over limit": {kubernetes.Config{Image: "i", MemoryRequest: "8Gi", MemoryLimit: "4Gi"}, "MemoryRequest: 8Gi exceeds MemoryLimit (4Gi)"},
		"bad pull policy":    {kubernetes.Config{Image: "i", ImagePullPolicy: "Sometimes"}, "ImagePullPolicy"},
		"bad secret name":    {kubernetes.Config{Image: "i", ImagePullSecret: "My Secret"}, "ImagePullSecret"},
		"bad label":          {kubernetes.Config{Image: "i", Labels: map[string]string{"a b": "c"}}, "Labels"},
		"negative user":      {kubernetes.Config{Image: "i", RunAsUser: -1}, "RunAsUser"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if err := c.cfg.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate = %v, want %q", err, c.want)
			}
		})
	}
	if err := (kubernetes.Config{Image: "i", CPURequest: "500m", CPULimit: "1", MemoryRequest: "1Gi", MemoryLimit: "1Gi"}).WithDefaults().Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// Not parallel: clears KUBERNETES_SERVICE_HOST and KUBECONFIG.
func TestClientFromKubeconfig(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBECONFIG", "")
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	kubeconfig := `apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
contexts:
- name: lab-ctx
  context: {cluster: lab, user: funcx, namespace: science}
current-context: lab-ctx
users:
- name: funcx
  user: {token: abc}
`
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.New(kubernetes.Config{Image: "i", Kubeconfig: path, Context: "lab-ctx"}); err != nil {
		t.Errorf("New from a kubeconfig: %v", err)
	}
	// New does no I/O: a configuration that cannot work is the error of
	// the first call that needs the API server.
	firstCall := func(cfg kubernetes.Config) error {
		t.Helper()
		p, err := kubernetes.New(cfg)
		if err != nil {
			t.Fatalf("New read the kubeconfig: %v", err)
		}
		_, err = p.Status(context.Background(), []provider.JobID{"x"})
		return err
	}
	if err := firstCall(kubernetes.Config{Image: "i", Kubeconfig: path, Context: "no-such-context"}); err == nil || !strings.Contains(err.Error(), "no-such-context") {
		t.Errorf("an unknown context = %v", err)
	}
	if err := firstCall(kubernetes.Config{Image: "i", Kubeconfig: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing kubeconfig is no error")
	}
	t.Setenv("HOME", dir) // no ~/.kube/config either
	if err := firstCall(kubernetes.Config{Image: "i"}); err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Errorf("no configuration at all = %v", err)
	}
}
