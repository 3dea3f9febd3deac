package kubernetes_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/kubernetes"
	"github.com/funcx-go/funcx/provider/kubernetes/kubetest"
)

// validatePod fails t with every problem kubetest.PodProblems finds.
func validatePod(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	for _, p := range kubetest.PodProblems(pod) {
		t.Error(p)
	}
}

func TestPodSpec(t *testing.T) {
	t.Parallel()
	cfg := kubernetes.Config{
		Image:           "ghcr.example/lab/funcx-endpoint:1.2",
		Namespace:       "science",
		ServiceAccount:  "funcx-runner",
		ImagePullSecret: "regcred",
		CPURequest:      "500m",
		CPULimit:        "2",
		MemoryRequest:   "1Gi",
		MemoryLimit:     "4Gi",
		RunAsUser:       1000,
		RunAsGroup:      1000,
		Labels:          map[string]string{"funcx-endpoint": "ep-1"},
	}
	j := provider.Job{
		BlockID:      "Block_7.x",
		Command:      provider.SingleNode{}.Wrap("/usr/local/bin/funcx-endpoint", 2, 1),
		WorkerInit:   "export A=1",
		Env:          map[string]string{"FUNCX_SECRET": "s", "FUNCX_RUN_ID": "r"},
		TasksPerNode: 2,
		GPUsPerNode:  1,
		Walltime:     90*time.Minute + time.Millisecond,
		Labels:       map[string]string{"funcx-run": "abc123"},
	}
	name := kubernetes.PodName("funcx-" + j.BlockID)
	pod, err := kubernetes.PodFor(cfg, j, name)
	if err != nil {
		t.Fatal(err)
	}
	validatePod(t, pod)
	c := pod.Spec.Containers[0]
	if c.Image != cfg.Image || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image = %s, %s", c.Image, c.ImagePullPolicy)
	}
	if len(c.Command) != 3 || c.Command[0] != "/bin/bash" || c.Command[1] != "-c" || !strings.HasPrefix(c.Command[2], "export A=1\n") || !strings.Contains(c.Command[2], "/usr/local/bin/funcx-endpoint") {
		t.Errorf("command = %q", c.Command)
	}
	if got := []string{c.Env[0].Name, c.Env[1].Name}; !slices.Equal(got, []string{"FUNCX_RUN_ID", "FUNCX_SECRET"}) {
		t.Errorf("env = %+v, want sorted", c.Env)
	}
	wantLabels := map[string]string{
		"app.kubernetes.io/managed-by": "funcx", "app.kubernetes.io/component": "block",
		"funcx-endpoint": "ep-1", "funcx-run": "abc123", "funcx-block": "Block_7.x",
	}
	if !maps.Equal(pod.Labels, wantLabels) {
		t.Errorf("labels = %v, want %v", pod.Labels, wantLabels)
	}
	if pod.Annotations[kubernetes.AnnotationBlockID] != "Block_7.x" {
		t.Errorf("annotations = %v", pod.Annotations)
	}
	for res, want := range map[string]string{"req cpu": "500m", "lim cpu": "2", "req memory": "1Gi", "lim memory": "4Gi", "lim nvidia.com/gpu": "1"} {
		kind, n, _ := strings.Cut(res, " ")
		list := c.Resources.Requests
		if kind == "lim" {
			list = c.Resources.Limits
		}
		if q, ok := list[corev1.ResourceName(n)]; !ok || q.String() != want {
			t.Errorf("%s = %v, want %s", res, q.String(), want)
		}
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d == nil || *d != 5401 {
		t.Errorf("activeDeadlineSeconds = %v, want 5401 (walltime rounded up)", d)
	}
	ps := pod.Spec.SecurityContext
	if ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || *ps.RunAsUser != 1000 || *ps.RunAsGroup != 1000 || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context = %+v", ps)
	}
	if pod.Spec.ServiceAccountName != "funcx-runner" || !*pod.Spec.AutomountServiceAccountToken || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("service account / pull secret: %+v", pod.Spec)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("terminationMessagePolicy = %s", c.TerminationMessagePolicy)
	}
}

func TestPodSpecDefaults(t *testing.T) {
	t.Parallel()
	j := provider.Job{BlockID: "0", Command: "m", CoresPerNode: 4, MemoryPerNode: 8 << 30}
	pod, err := kubernetes.PodFor(kubernetes.Config{Image: "i"}, j, kubernetes.PodName("funcx-0"))
	if err != nil {
		t.Fatal(err)
	}
	validatePod(t, pod)
	c := pod.Spec.Containers[0]
	if q := c.Resources.Requests[corev1.ResourceCPU]; q.String() != "4" {
		t.Errorf("cpu request from CoresPerNode = %s", q.String())
	}
	if q := c.Resources.Requests[corev1.ResourceMemory]; q.String() != "8Gi" {
		t.Errorf("memory request from MemoryPerNode = %s", q.String())
	}
	if c.Resources.Limits != nil || pod.Spec.ActiveDeadlineSeconds != nil || pod.Spec.ImagePullSecrets != nil {
		t.Errorf("unasked-for limits, deadline or pull secret: %+v", pod.Spec)
	}
	if *pod.Spec.AutomountServiceAccountToken || pod.Namespace != "default" {
		t.Errorf("token mounted without a service account, or namespace %q", pod.Namespace)
	}
	if allowRoot, err := kubernetes.PodFor(kubernetes.Config{Image: "i", AllowRoot: true}, j, "x"); err != nil || allowRoot.Spec.SecurityContext.RunAsNonRoot != nil {
		t.Errorf("AllowRoot: %v, %v", allowRoot.Spec.SecurityContext, err)
	}
}

func TestPodSpecRefusals(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		cfg  kubernetes.Config
		job  provider.Job
		want string
	}{
		"several nodes":   {kubernetes.Config{Image: "i"}, provider.Job{BlockID: "0", Command: "m", Nodes: 2}, "nodes_per_block = 1"},
		"bad label key":   {kubernetes.Config{Image: "i"}, provider.Job{BlockID: "0", Command: "m", Labels: map[string]string{"bad key!": "v"}}, "bad key!"},
		"bad label value": {kubernetes.Config{Image: "i"}, provider.Job{BlockID: "0", Command: "m", Labels: map[string]string{"k": "-bad value"}}, "-bad value"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := kubernetes.PodFor(c.cfg, c.job, "x"); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("PodFor = %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"funcx-0", "FUNCX_Block.7", "", "---", strings.Repeat("a", 100), "ünïcode block", "funcx-" + strings.Repeat("9", 60)} {
		name := kubernetes.PodName(in)
		if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
			t.Errorf("PodName(%q) = %q: %v", in, name, msgs)
		}
		if other := kubernetes.PodName(in); other == name {
			t.Errorf("PodName(%q) twice gave %q: want a random suffix", in, name)
		}
		v := kubernetes.LabelValue(in)
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			t.Errorf("LabelValue(%q) = %q: %v", in, v, msgs)
		}
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"funcx-0", "", "_.-", "Ab.C_d-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if msgs := validation.IsDNS1123Label(kubernetes.PodName(s)); len(msgs) > 0 {
			t.Errorf("PodName(%q): %v", s, msgs)
		}
		if msgs := validation.IsValidLabelValue(kubernetes.LabelValue(s)); len(msgs) > 0 {
			t.Errorf("LabelValue(%q): %v", s, msgs)
		}
	})
}
