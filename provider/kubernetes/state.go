package kubernetes

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/funcx-go/funcx/provider"
)

// failedWaitingReasons are the reasons a container waits that it will
// not get past by itself: the block has failed, whatever the phase says.
var failedWaitingReasons = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"PreCreateHookError":         true,
	"PreStartHookError":          true,
}

// Pod status reasons Kubernetes sets.
const (
	reasonDeadlineExceeded = "DeadlineExceeded"
	reasonOOMKilled        = "OOMKilled"
)

// podStatus maps a pod onto a JobStatus. cancelled tells whether this
// provider deleted it.
func podStatus(pod *corev1.Pod, cancelled bool) provider.JobStatus {
	st := provider.JobStatus{ID: provider.JobID(pod.Name)}
	cs := containerStatus(pod)
	switch pod.Status.Phase {
	case corev1.PodPending, "":
		if cs != nil && cs.State.Waiting != nil && failedWaitingReasons[cs.State.Waiting.Reason] {
			st.State = provider.JobFailed
			st.Message = joinMessage(cs.State.Waiting.Reason, cs.State.Waiting.Message)
			break
		}
		st.State = provider.JobPending
		st.Message = pendingMessage(pod, cs)
	case corev1.PodRunning:
		st.State = provider.JobRunning
	case corev1.PodSucceeded:
		st.State = provider.JobCompleted
	case corev1.PodFailed:
		failedStatus(&st, pod, cs)
	default: // PodUnknown: the node stopped reporting
		st.State = provider.JobUnknown
		st.Message = joinMessage(fmt.Sprintf("pod phase %s", pod.Status.Phase), joinMessage(pod.Status.Reason, pod.Status.Message))
	}
	if cancelled && st.State != provider.JobTimeout {
		switch {
		case st.State.Terminal():
			st.State = provider.JobCancelled
		case pod.DeletionTimestamp != nil:
			// Still stopping: its processes run until the grace ends.
			st.Message = joinMessage("being deleted", st.Message)
		}
	}
	return st
}

// failedStatus fills st for a pod in phase Failed.
func failedStatus(st *provider.JobStatus, pod *corev1.Pod, cs *corev1.ContainerStatus) {
	if pod.Status.Reason == reasonDeadlineExceeded {
		st.State = provider.JobTimeout
		st.Message = joinMessage("walltime (activeDeadlineSeconds) exceeded", pod.Status.Message)
		if t := terminated(cs); t != nil {
			st.ExitCode = int(t.ExitCode)
		}
		return
	}
	st.State = provider.JobFailed
	st.Message = joinMessage(pod.Status.Reason, pod.Status.Message) // Evicted: "The node was low on resource: memory."
	t := terminated(cs)
	if t == nil {
		return
	}
	st.ExitCode = int(t.ExitCode)
	msg := fmt.Sprintf("exit code %d", t.ExitCode)
	if t.Reason != "" && t.Reason != "Error" {
		msg = t.Reason + ": " + msg // OOMKilled
	}
	if t.Signal != 0 {
		msg += fmt.Sprintf(" (signal %d)", t.Signal)
	}
	st.Message = joinMessage(st.Message, joinMessage(msg, strings.TrimSpace(t.Message)))
}

// pendingMessage says why a pending pod waits: not scheduled yet (with
// the scheduler's reason), or its container's waiting reason
// (ContainerCreating, PodInitializing).
func pendingMessage(pod *corev1.Pod, cs *corev1.ContainerStatus) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return joinMessage(c.Reason, c.Message) // Unschedulable: 0/3 nodes are available: ...
		}
	}
	if cs != nil && cs.State.Waiting != nil {
		return joinMessage(cs.State.Waiting.Reason, cs.State.Waiting.Message)
	}
	return ""
}

// containerStatus is the status of the pod's block container.
func containerStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == DefaultContainerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	if len(pod.Status.ContainerStatuses) > 0 {
		return &pod.Status.ContainerStatuses[0]
	}
	return nil
}

func terminated(cs *corev1.ContainerStatus) *corev1.ContainerStateTerminated {
	if cs == nil {
		return nil
	}
	if cs.State.Terminated != nil {
		return cs.State.Terminated
	}
	return cs.LastTerminationState.Terminated
}

func joinMessage(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}
