package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/funcx-go/funcx/provider"
)

// maxRemembered bounds the final states and cancellations the provider
// remembers of pods that are gone; the oldest are forgotten first (and
// then report as missing, which is terminal too).
const maxRemembered = 4096

// Provider runs blocks as pods. It is safe for concurrent use.
type Provider struct {
	cfg Config
	log *slog.Logger

	clientMu sync.Mutex
	client   k8s.Interface // built on first use: New does no I/O

	mu        sync.Mutex
	cancelled map[provider.JobID]bool
	final     map[provider.JobID]provider.JobStatus // of pods deleted after they ended
	order     []provider.JobID                      // of both, oldest first
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Starter  = (*Provider)(nil)
)

// New returns a Provider. It does no I/O: it neither reads the
// kubeconfig nor contacts the API server. The client is built from
// Kubeconfig (or the in-cluster configuration) at the first call that
// needs it, and an error in that configuration is that call's error.
func New(cfg Config) (*Provider, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Provider{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "provider", "provider", "kubernetes", "namespace", cfg.Namespace),
		client:    cfg.Client,
		cancelled: map[provider.JobID]bool{},
		final:     map[provider.JobID]provider.JobStatus{},
	}, nil
}

// Start deletes the pods that carry Config.Labels, left behind by an
// earlier run that died (see RemoveOrphans), so that they neither run
// nor count as this run's blocks. The engine calls it, with its own
// Start's context, before it submits a block. With no Labels it does
// nothing: every funcx pod of the namespace would match.
func (p *Provider) Start(ctx context.Context) error {
	if len(p.cfg.Labels) == 0 {
		return nil
	}
	if _, err := p.RemoveOrphans(ctx, p.cfg.Labels); err != nil {
		return fmt.Errorf("kubernetes: remove the pods an earlier run left (labels %s): %w", labels.Set(p.cfg.Labels), err)
	}
	return nil
}

// clientset returns the client, building it on the first call.
func (p *Provider) clientset() (k8s.Interface, error) {
	p.clientMu.Lock()
	defer p.clientMu.Unlock()
	if p.client == nil {
		c, err := newClient(&p.cfg)
		if err != nil {
			return nil, err // tried again at the next call
		}
		p.client = c
	}
	return p.client, nil
}

func (p *Provider) pods() podClient {
	c, err := p.clientset()
	if err != nil {
		return noPods{err}
	}
	return c.CoreV1().Pods(p.cfg.Namespace)
}

type podClient interface {
	Create(context.Context, *corev1.Pod, metav1.CreateOptions) (*corev1.Pod, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
	List(context.Context, metav1.ListOptions) (*corev1.PodList, error)
}

// noPods answers every call with the error that kept the client from
// being built.
type noPods struct{ err error }

func (n noPods) Create(context.Context, *corev1.Pod, metav1.CreateOptions) (*corev1.Pod, error) {
	return nil, n.err
}
func (n noPods) Delete(context.Context, string, metav1.DeleteOptions) error { return n.err }
func (n noPods) List(context.Context, metav1.ListOptions) (*corev1.PodList, error) {
	return nil, n.err
}

// call bounds one API call by RequestTimeout.
func (p *Provider) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.cfg.RequestTimeout)
}

// Submit creates the block's pod; the pod name is the job ID.
func (p *Provider) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("submit Kubernetes block: %w", err)
	}
	j = j.WithDefaults()
	if err := j.Validate(); err != nil {
		return "", fmt.Errorf("submit Kubernetes block: %w", err)
	}
	pod, err := podFor(&p.cfg, j, podName(j.Name))
	if err != nil {
		return "", fmt.Errorf("submit Kubernetes block %s: %w", j.BlockID, err)
	}
	cctx, cancel := p.call(ctx)
	defer cancel()
	created, err := p.pods().Create(cctx, pod, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("submit Kubernetes block %s: create pod %s in namespace %s: %w", j.BlockID, pod.Name, p.cfg.Namespace, err)
	}
	p.log.Info("block submitted", "block", j.BlockID, "pod", created.Name)
	return provider.JobID(created.Name), nil
}

// selector matches every pod of this provider.
func (p *Provider) selector() labels.Selector {
	set := labels.Set{LabelManagedBy: ManagedByValue}
	for k, v := range p.cfg.Labels {
		set[k] = v
	}
	return labels.SelectorFromSet(set)
}

// Status lists the provider's pods once and maps each. Pods that have
// ended are deleted after their state is recorded, unless
// KeepFinishedPods.
func (p *Provider) Status(ctx context.Context, ids []provider.JobID) ([]provider.JobStatus, error) {
	if len(ids) == 0 {
		return []provider.JobStatus{}, nil
	}
	cctx, cancel := p.call(ctx)
	list, err := p.pods().List(cctx, metav1.ListOptions{LabelSelector: p.selector().String()})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("Kubernetes block status: list pods in namespace %s: %w", p.cfg.Namespace, err)
	}
	byName := make(map[string]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}
	out := make([]provider.JobStatus, len(ids))
	var ended []provider.JobStatus
	p.mu.Lock()
	for i, id := range ids {
		pod := byName[string(id)]
		switch {
		case pod != nil:
			out[i] = podStatus(pod, p.cancelled[id])
			if out[i].State.Terminal() && !p.cfg.KeepFinishedPods && pod.DeletionTimestamp == nil {
				ended = append(ended, out[i])
			}
		case p.final[id].ID != "":
			out[i] = p.final[id]
		case p.cancelled[id]:
			out[i] = provider.JobStatus{ID: id, State: provider.JobCancelled, Message: "pod deleted"}
		default:
			out[i] = provider.JobStatus{ID: id, State: provider.JobMissing, Message: fmt.Sprintf("no pod %s in namespace %s", id, p.cfg.Namespace)}
		}
	}
	p.mu.Unlock()
	for _, st := range ended {
		p.removeEnded(ctx, st)
	}
	return out, nil
}

// removeEnded deletes a pod that has ended, remembering its final state
// first so that later calls still report it.
func (p *Provider) removeEnded(ctx context.Context, st provider.JobStatus) {
	p.mu.Lock()
	p.final[st.ID] = st
	p.remember(st.ID)
	p.mu.Unlock()
	cctx, cancel := p.call(ctx)
	defer cancel()
	if err := p.pods().Delete(cctx, string(st.ID), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		// Not fatal: the next Status or RemoveOrphans tries again.
		p.log.Warn("could not delete ended pod", "pod", st.ID, "err", err)
		p.mu.Lock()
		delete(p.final, st.ID)
		p.mu.Unlock()
		return
	}
	p.log.Info("block ended", "pod", st.ID, "state", st.State, "exit_code", st.ExitCode, "message", st.Message)
}

// remember records id in the bounded order. Called with mu held.
func (p *Provider) remember(id provider.JobID) {
	p.order = append(p.order, id)
	for len(p.order) > maxRemembered {
		old := p.order[0]
		p.order = p.order[1:]
		delete(p.final, old)
		delete(p.cancelled, old)
	}
}

// Cancel deletes the pods. Pods already gone are not an error.
func (p *Provider) Cancel(ctx context.Context, ids []provider.JobID) error {
	var errs []error
	grace := int64(p.cfg.DeleteGrace.Round(time.Second) / time.Second)
	for _, id := range ids {
		p.mu.Lock()
		if !p.cancelled[id] {
			p.cancelled[id] = true
			p.remember(id)
		}
		p.mu.Unlock()
		cctx, cancel := p.call(ctx)
		err := p.pods().Delete(cctx, string(id), metav1.DeleteOptions{GracePeriodSeconds: &grace})
		cancel()
		switch {
		case err == nil:
			p.log.Info("block cancelled", "pod", id)
		case apierrors.IsNotFound(err):
		default:
			errs = append(errs, fmt.Errorf("delete pod %s: %w", id, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cancel Kubernetes blocks: %w", err)
	}
	return nil
}

// RemoveOrphans deletes the pods carrying every one of these labels (and
// the managed-by mark), such as those of an endpoint that died without
// cleaning up, and returns their names. Start calls it with
// Config.Labels.
func (p *Provider) RemoveOrphans(ctx context.Context, match map[string]string) ([]string, error) {
	set := labels.Set{LabelManagedBy: ManagedByValue}
	for k, v := range match {
		set[k] = v
	}
	cctx, cancel := p.call(ctx)
	list, err := p.pods().List(cctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(set).String()})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("find orphan pods in namespace %s: %w", p.cfg.Namespace, err)
	}
	var removed []string
	var errs []error
	for _, pod := range list.Items {
		cctx, cancel := p.call(ctx)
		err := p.pods().Delete(cctx, pod.Name, metav1.DeleteOptions{})
		cancel()
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete orphan pod %s: %w", pod.Name, err))
			continue
		}
		removed = append(removed, pod.Name)
	}
	if len(removed) > 0 {
		p.log.Info("removed orphan pods", "pods", strings.Join(removed, ","))
	}
	return removed, errors.Join(errs...)
}
