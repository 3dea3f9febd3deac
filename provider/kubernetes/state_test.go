package kubernetes_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/kubernetes"
)

func podIn(phase corev1.PodPhase, mutate func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "funcx-0-bcdfgh"}, Status: corev1.PodStatus{Phase: phase}}
	if mutate != nil {
		mutate(pod)
	}
	return pod
}

func withWaiting(reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "manager", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
	}
}

func withTerminated(code int32, reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "manager", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg}}}}
	}
}

func TestPodStateMapping(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	for _, c := range []struct {
		name      string
		pod       *corev1.Pod
		cancelled bool
		state     provider.JobState
		exit      int
		msg       string
	}{
		{name: "pending, not yet seen by a node", pod: podIn("", nil), state: provider.JobPending},
		{name: "pending unschedulable", pod: podIn(corev1.PodPending, func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available: 3 Insufficient cpu."}}
		}), state: provider.JobPending, msg: "Unschedulable: 0/3 nodes are available"},
		{name: "ContainerCreating", pod: podIn(corev1.PodPending, withWaiting("ContainerCreating", "")), state: provider.JobPending, msg: "ContainerCreating"},
		{name: "ErrImagePull", pod: podIn(corev1.PodPending, withWaiting("ErrImagePull", `failed to pull image "x": not found`)), state: provider.JobFailed, msg: "ErrImagePull: failed to pull image"},
		{name: "ImagePullBackOff", pod: podIn(corev1.PodPending, withWaiting("ImagePullBackOff", `Back-off pulling image "x"`)), state: provider.JobFailed, msg: "ImagePullBackOff: Back-off pulling image"},
		{name: "InvalidImageName", pod: podIn(corev1.PodPending, withWaiting("InvalidImageName", "bad")), state: provider.JobFailed, msg: "InvalidImageName"},
		{name: "CreateContainerConfigError (root image with runAsNonRoot)", pod: podIn(corev1.PodPending, withWaiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root")), state: provider.JobFailed, msg: "runAsNonRoot"},
		{name: "running", pod: podIn(corev1.PodRunning, nil), state: provider.JobRunning},
		{name: "running, being deleted by us", pod: podIn(corev1.PodRunning, func(p *corev1.Pod) { p.DeletionTimestamp = &now }), cancelled: true, state: provider.JobRunning, msg: "being deleted"},
		{name: "succeeded", pod: podIn(corev1.PodSucceeded, withTerminated(0, "Completed", "")), state: provider.JobCompleted},
		{name: "failed with log tail", pod: podIn(corev1.PodFailed, withTerminated(3, "Error", "Traceback: boom\n")), state: provider.JobFailed, exit: 3, msg: "exit code 3: Traceback: boom"},
		{name: "OOMKilled", pod: podIn(corev1.PodFailed, withTerminated(137, "OOMKilled", "")), state: provider.JobFailed, exit: 137, msg: "OOMKilled: exit code 137"},
		{name: "DeadlineExceeded", pod: podIn(corev1.PodFailed, func(p *corev1.Pod) {
			p.Status.Reason, p.Status.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
		}), state: provider.JobTimeout, msg: "walltime"},
		{name: "DeadlineExceeded stays timeout when cancelled too", pod: podIn(corev1.PodFailed, func(p *corev1.Pod) { p.Status.Reason = "DeadlineExceeded" }), cancelled: true, state: provider.JobTimeout},
		{name: "evicted", pod: podIn(corev1.PodFailed, func(p *corev1.Pod) {
			p.Status.Reason, p.Status.Message = "Evicted", "The node was low on resource: memory."
		}), state: provider.JobFailed, msg: "Evicted: The node was low on resource"},
		{name: "failed after our delete is cancelled", pod: podIn(corev1.PodFailed, withTerminated(143, "Error", "")), cancelled: true, state: provider.JobCancelled, exit: 143},
		{name: "unknown phase", pod: podIn(corev1.PodUnknown, nil), state: provider.JobUnknown, msg: "Unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := kubernetes.PodStatus(c.pod, c.cancelled)
			if st.ID != "funcx-0-bcdfgh" || st.State != c.state || st.ExitCode != c.exit || !strings.Contains(st.Message, c.msg) {
				t.Errorf("got %+v; want state %s, exit %d, message containing %q", st, c.state, c.exit, c.msg)
			}
		})
	}
}
