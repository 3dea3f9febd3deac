// Package kubetest runs Kubernetes pods without a cluster, for tests: a
// kubelet stand-in that drives the pods of client-go's fake clientset.
package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/funcx-go/funcx/internal/procfs"
)

// Kubelet is a test stand-in for a node: it watches the pods of a fake
// clientset and moves them through their phases as a kubelet would,
// running each pod's command as a local process group (with the pod's
// environment, not in a container: there is no container runtime here).
// Images listed in badImages fail to pull. A deleted pod's processes get
// SIGTERM, then SIGKILL after the pod's grace period (at most a
// second); a pod past its activeDeadlineSeconds is killed and marked
// DeadlineExceeded. The fake API server deletes pods at once, without
// the graceful Terminating phase of a real one.
type Kubelet struct {
	client    k8s.Interface
	ns        string
	badImages map[string]string // image -> pull error
	maxGrace  time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	procs    map[string]*podProcess // by pod name
	deleted  map[string]bool
	problems []string // PodProblems of the pods created, and API errors
}

type podProcess struct {
	pgid int
	done chan struct{} // closed when the group is gone
}

// Start starts a kubelet watching the pods of ns; it stops, killing
// everything it started, at the test's cleanup, and fails the test if a
// pod created meanwhile had PodProblems. Pods using an image in
// badImages fail to pull with that error.
func Start(t testing.TB, client k8s.Interface, ns string, badImages map[string]string) *Kubelet {
	t.Helper()
	k := &Kubelet{client: client, ns: ns, badImages: badImages, maxGrace: time.Second,
		procs: map[string]*podProcess{}, deleted: map[string]bool{}}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	w, err := client.CoreV1().Pods(ns).Watch(k.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("kubelet: watch pods: %v", err)
	}
	k.wg.Add(1)
	go k.watch(w)
	t.Cleanup(func() {
		k.stop()
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, p := range k.problems {
			t.Errorf("kubelet admission: %s", p)
		}
	})
	return k
}

func (k *Kubelet) stop() {
	k.cancel()
	k.wg.Wait()
}

func (k *Kubelet) watch(w watch.Interface) {
	defer k.wg.Done()
	defer w.Stop()
	for {
		select {
		case <-k.ctx.Done():
			return
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			switch ev.Type {
			case watch.Added:
				// Admission: every pod the provider creates must be one
				// the API server would accept.
				if p := PodProblems(pod); len(p) > 0 {
					k.mu.Lock()
					k.problems = append(k.problems, p...)
					k.mu.Unlock()
				}
				k.wg.Add(1)
				go k.run(pod.DeepCopy())
			case watch.Deleted:
				k.podDeleted(pod)
			}
		}
	}
}

// problem records something the test must fail for.
func (k *Kubelet) problem(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.problems = append(k.problems, fmt.Sprintf(format, args...))
}

// update applies f to the pod's status, unless the pod is gone.
func (k *Kubelet) update(name string, f func(*corev1.PodStatus)) {
	pods := k.client.CoreV1().Pods(k.ns)
	pod, err := pods.Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		k.problem("kubelet: get pod %s: %v", name, err)
		return
	}
	f(&pod.Status)
	if _, err := pods.UpdateStatus(context.Background(), pod, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		k.problem("kubelet: update pod %s: %v", name, err)
	}
}

func waiting(name, reason, msg string) []corev1.ContainerStatus {
	return []corev1.ContainerStatus{{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
}

// run is the pod's life on the node.
func (k *Kubelet) run(pod *corev1.Pod) {
	defer k.wg.Done()
	c := pod.Spec.Containers[0]
	k.update(pod.Name, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodPending
		s.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
		s.ContainerStatuses = waiting(c.Name, "ContainerCreating", "")
	})
	if msg, bad := k.badImages[c.Image]; bad {
		k.update(pod.Name, func(s *corev1.PodStatus) { s.ContainerStatuses = waiting(c.Name, "ErrImagePull", msg) })
		k.update(pod.Name, func(s *corev1.PodStatus) {
			s.ContainerStatuses = waiting(c.Name, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", c.Image, msg))
		})
		return
	}
	var logs lockedBuffer
	cmd := exec.Command(c.Command[0], c.Command[1:]...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOSTNAME=" + pod.Name}
	for _, e := range c.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	k.mu.Lock()
	if k.deleted[pod.Name] || k.ctx.Err() != nil {
		k.mu.Unlock()
		return
	}
	if err := cmd.Start(); err != nil {
		k.mu.Unlock()
		k.update(pod.Name, func(s *corev1.PodStatus) {
			s.Phase = corev1.PodFailed
			s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 128, Reason: "StartError", Message: err.Error()}}}}
		})
		return
	}
	proc := &podProcess{pgid: cmd.Process.Pid, done: make(chan struct{})}
	k.procs[pod.Name] = proc
	k.mu.Unlock()
	started := metav1.Now()
	k.update(pod.Name, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodRunning
		s.StartTime = &started
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}}}
	})

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var deadline <-chan time.Time
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		t := time.NewTimer(time.Duration(*d) * time.Second)
		defer t.Stop()
		deadline = t.C
	}
	grace := k.maxGrace
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = min(grace, time.Duration(*g)*time.Second)
	}
	deadlineExceeded := false
	select {
	case <-exited:
	case <-deadline:
		deadlineExceeded = true
		terminate(proc.pgid, grace, exited)
	case <-k.ctx.Done():
		terminate(proc.pgid, grace, exited)
	}
	// The container's processes end with it.
	_ = syscall.Kill(-proc.pgid, syscall.SIGKILL)
	waitGroupGone(proc.pgid)
	close(proc.done)

	term := &corev1.ContainerStateTerminated{ExitCode: int32(exitCode(cmd.ProcessState)), StartedAt: started, FinishedAt: metav1.Now(), Reason: "Completed"}
	phase := corev1.PodSucceeded
	if term.ExitCode != 0 {
		phase, term.Reason = corev1.PodFailed, "Error"
		term.Message = logTail(logs.String())
	}
	k.update(pod.Name, func(s *corev1.PodStatus) {
		s.Phase = phase
		if deadlineExceeded {
			s.Phase, s.Reason, s.Message = corev1.PodFailed, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
		}
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: c.Name, State: corev1.ContainerState{Terminated: term}}}
	})
}

// terminate sends SIGTERM to the group, and SIGKILL if the first process
// has not exited within grace; it returns once that process has exited.
func terminate(pgid int, grace time.Duration, exited <-chan error) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-exited:
		return
	case <-t.C:
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-exited
}

func waitGroupGone(pgid int) {
	for i := 0; i < 500 && len(procfs.Find(func(_ int, st procfs.Stat) bool { return st.PGRP == pgid })) > 0; i++ {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(10 * time.Millisecond)
	}
}

func (k *Kubelet) podDeleted(pod *corev1.Pod) {
	k.mu.Lock()
	k.deleted[pod.Name] = true
	proc := k.procs[pod.Name]
	k.mu.Unlock()
	if proc == nil {
		return
	}
	grace := k.maxGrace
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = min(grace, time.Duration(*g)*time.Second)
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		_ = syscall.Kill(-proc.pgid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-proc.done:
		case <-t.C:
			_ = syscall.Kill(-proc.pgid, syscall.SIGKILL)
		}
	}()
}

// Gone reports, as an error, a pod whose processes still run.
func (k *Kubelet) Gone(name string) error {
	k.mu.Lock()
	proc := k.procs[name]
	k.mu.Unlock()
	if proc == nil {
		return nil
	}
	select {
	case <-proc.done:
		return nil
	default:
		return fmt.Errorf("processes of pod %s (group %d) still run", name, proc.pgid)
	}
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// logTail is what FallbackToLogsOnError keeps: the last 80 lines or 2048
// bytes, whichever is shorter.
func logTail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	s = strings.Join(lines, "\n")
	if len(s) > 2048 {
		s = s[len(s)-2048:]
	}
	return s
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func ptr[T any](v T) *T { return &v }

// PodProblems checks what the API server would: names, labels,
// annotations, environment names and resource quantities; and what the
// provider promises: restartPolicy Never, no privilege escalation, no
// capabilities.
func PodProblems(pod *corev1.Pod) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, msg := range validation.IsDNS1123Label(pod.Name) {
		bad("pod name %q: %s", pod.Name, msg)
	}
	for _, msg := range validation.IsDNS1123Label(pod.Namespace) {
		bad("namespace %q: %s", pod.Namespace, msg)
	}
	for k, v := range pod.Labels {
		for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			bad("label %s=%s: %s", k, v, msg)
		}
	}
	for k := range pod.Annotations {
		for _, msg := range validation.IsQualifiedName(k) {
			bad("annotation %s: %s", k, msg)
		}
	}
	if len(pod.Spec.Containers) != 1 {
		bad("pod has %d containers, want 1", len(pod.Spec.Containers))
		return out
	}
	c := pod.Spec.Containers[0]
	for _, msg := range validation.IsDNS1123Label(c.Name) {
		bad("container name %q: %s", c.Name, msg)
	}
	for _, e := range c.Env {
		for _, msg := range validation.IsEnvVarName(e.Name) {
			bad("env %s: %s", e.Name, msg)
		}
	}
	for _, list := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		for name, q := range list {
			if _, err := resource.ParseQuantity(q.String()); err != nil {
				bad("resource %s = %q does not parse: %v", name, q.String(), err)
			}
		}
	}
	for name, req := range c.Resources.Requests {
		if lim, ok := c.Resources.Limits[name]; ok && req.Cmp(lim) > 0 {
			bad("request %s %s exceeds its limit %s", name, req.String(), lim.String())
		}
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		bad("restartPolicy = %s", pod.Spec.RestartPolicy)
	}
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		bad("container security context = %+v, want no privilege escalation and ALL capabilities dropped", sc)
	}
	if _, err := json.Marshal(pod); err != nil {
		bad("pod does not encode: %v", err)
	}
	return out
}
