package kubernetes

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/funcx-go/funcx/provider"
)

// Labels and annotations the provider puts on its pods.
const (
	// LabelManagedBy marks every pod of funcx, whichever endpoint made it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is LabelManagedBy's value.
	ManagedByValue = "funcx"
	// LabelComponent says what the pod is.
	LabelComponent = "app.kubernetes.io/component"
	// LabelBlock carries the block ID (made a valid label value).
	LabelBlock = "funcx-block"
	// AnnotationBlockID carries the block ID exactly.
	AnnotationBlockID = "funcx-block-id"
)

// GPUResource is the extended resource a job's GPUsPerNode requests.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// nameSuffixLen is the random suffix that keeps pod names unique across
// endpoint runs (block IDs start over with each run).
const nameSuffixLen = 6

// podName makes a DNS-1123 label (which a pod's hostname must be) from
// the job's name and a random suffix.
func podName(jobName string) string {
	base := dnsLabel(jobName, validation.DNS1123LabelMaxLength-nameSuffixLen-1)
	if base == "" {
		base = "funcx"
	}
	return base + "-" + randomSuffix()
}

const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789" // no vowels: no words

func randomSuffix() string {
	b := make([]byte, nameSuffixLen)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	for i := range b {
		b[i] = suffixAlphabet[int(b[i])%len(suffixAlphabet)]
	}
	return string(b)
}

// dnsLabel lowercases s, turns every other character than [a-z0-9-]
// into '-', trims '-' from both ends and cuts it to max.
func dnsLabel(s string, maxLen int) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	return strings.Trim(string(b), "-")
}

// LabelValue makes a valid label value of s: [A-Za-z0-9._-], starting and
// ending alphanumeric, at most 63 characters.
func LabelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	if len(b) > validation.LabelValueMaxLength {
		b = b[:validation.LabelValueMaxLength]
	}
	return strings.Trim(string(b), "._-")
}

// podLabels are the labels of a job's pod: the provider's, the job's, the
// block and the managed-by mark (which neither may override).
func podLabels(cfg *Config, j provider.Job) (map[string]string, error) {
	labels := map[string]string{}
	maps.Copy(labels, cfg.Labels)
	maps.Copy(labels, j.Labels)
	labels[LabelBlock] = LabelValue(j.BlockID)
	labels[LabelComponent] = "block"
	labels[LabelManagedBy] = ManagedByValue
	if err := validateLabels(labels); err != nil {
		return nil, err
	}
	return labels, nil
}

// podFor builds the pod of a defaulted, validated job.
func podFor(cfg *Config, j provider.Job, name string) (*corev1.Pod, error) {
	if j.Nodes > 1 {
		return nil, fmt.Errorf("a Kubernetes block is one pod on one node, but the job asks for %d nodes: set nodes_per_block = 1", j.Nodes)
	}
	labels, err := podLabels(cfg, j)
	if err != nil {
		return nil, err
	}
	res, err := resources(cfg, j)
	if err != nil {
		return nil, err
	}
	env := make([]corev1.EnvVar, 0, len(j.Env))
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		env = append(env, corev1.EnvVar{Name: k, Value: j.Env[k]})
	}
	grace := int64(cfg.DeleteGrace.Round(time.Second) / time.Second)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   cfg.Namespace,
			Labels:      labels,
			Annotations: map[string]string{AnnotationBlockID: j.BlockID},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: &grace,
			ServiceAccountName:            cfg.ServiceAccount,
			// Managers never call the API server; a token they do not
			// need is one less to leak.
			AutomountServiceAccountToken: ptr(cfg.ServiceAccount != ""),
			SecurityContext:              podSecurity(cfg),
			Containers: []corev1.Container{{
				Name:            DefaultContainerName,
				Image:           cmp.Or(j.Image, cfg.Image),
				ImagePullPolicy: cfg.ImagePullPolicy,
				Command:         []string{cfg.Shell, "-c", j.Script()},
				Env:             env,
				Resources:       res,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					Privileged:               ptr(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				// The end of the log becomes the termination message of
				// a failed container, which Status reports.
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
		},
	}
	if cfg.ImagePullSecret != "" {
		pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: cfg.ImagePullSecret}}
	}
	if j.Walltime > 0 {
		secs := int64((j.Walltime + time.Second - 1) / time.Second)
		pod.Spec.ActiveDeadlineSeconds = &secs
	}
	return pod, nil
}

func podSecurity(cfg *Config) *corev1.PodSecurityContext {
	sc := &corev1.PodSecurityContext{
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if !cfg.AllowRoot {
		sc.RunAsNonRoot = ptr(true)
	}
	if cfg.RunAsUser > 0 {
		sc.RunAsUser = ptr(cfg.RunAsUser)
	}
	if cfg.RunAsGroup > 0 {
		sc.RunAsGroup = ptr(cfg.RunAsGroup)
	}
	return sc
}

// resources are the configured requests and limits; a job's cores,
// memory and GPUs fill in what the configuration leaves unset.
func resources(cfg *Config, j provider.Job) (corev1.ResourceRequirements, error) {
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	for _, q := range []struct {
		list  corev1.ResourceList
		name  corev1.ResourceName
		value string
	}{
		{req, corev1.ResourceCPU, cfg.CPURequest},
		{lim, corev1.ResourceCPU, cfg.CPULimit},
		{req, corev1.ResourceMemory, cfg.MemoryRequest},
		{lim, corev1.ResourceMemory, cfg.MemoryLimit},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil {
			return corev1.ResourceRequirements{}, fmt.Errorf("%s quantity %q: %w", q.name, q.value, err)
		}
		q.list[q.name] = v
	}
	if _, ok := req[corev1.ResourceCPU]; !ok && j.CoresPerNode > 0 {
		req[corev1.ResourceCPU] = *resource.NewQuantity(int64(j.CoresPerNode), resource.DecimalSI)
	}
	if _, ok := req[corev1.ResourceMemory]; !ok && j.MemoryPerNode > 0 {
		req[corev1.ResourceMemory] = *resource.NewQuantity(j.MemoryPerNode, resource.BinarySI)
	}
	if j.GPUsPerNode > 0 {
		// Extended resources are requested through limits.
		lim[GPUResource] = resource.MustParse(strconv.Itoa(j.GPUsPerNode))
	}
	out := corev1.ResourceRequirements{}
	if len(req) > 0 {
		out.Requests = req
	}
	if len(lim) > 0 {
		out.Limits = lim
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
