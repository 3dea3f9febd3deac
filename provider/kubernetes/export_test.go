package kubernetes

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/funcx-go/funcx/provider"
)

// Internals exposed to the external tests.
var PodName = podName

// PodFor builds the pod of a job as Submit would, with defaults applied.
func PodFor(cfg Config, j provider.Job, name string) (*corev1.Pod, error) {
	cfg = cfg.WithDefaults()
	return podFor(&cfg, j.WithDefaults(), name)
}

// PodStatus maps a pod.
func PodStatus(pod *corev1.Pod, cancelled bool) provider.JobStatus { return podStatus(pod, cancelled) }
