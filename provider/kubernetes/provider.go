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
	cfg    Config
	log    *slog.Logger
	client k8s.Interface

	mu        sync.Mutex
	cancelled map[provider.JobID]bool
	final     map[provider.JobID]provider.JobStatus // of pods deleted after they ended
	order     []provider.JobID                      // of both, oldest first
}

var _ provider.Provider = (*Provider)(nil)

// New returns a Provider, building a client if cfg has none. It does not
// contact the API server.
func New(cfg Config) (*Provider, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		var err error
		if client, err = newClient(&cfg); err != nil {
			return nil, err
		}
	}
	return &Provider{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "provider", "provider", "kubernetes", "namespace", cfg.Namespace),
		client:    client,
		cancelled: map[provider.JobID]bool{},
		final:     map[provider.JobID]provider.JobStatus{},
	}, nil
}

func (p *Provider) pods() podClient { return p.client.CoreV1().Pods(p.cfg.Namespace) }

type podClient interface {
	Create(context.Context, *corev1.Pod, metav1.CreateOptions) (*corev1.Pod, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
	List(context.Context, metav1.ListOptions) (*corev1.PodList, error)
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
// cleaning up, and returns their names. The endpoint calls it before it
// submits its first block.
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
