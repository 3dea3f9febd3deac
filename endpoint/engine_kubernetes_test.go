package endpoint_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/provider/kubernetes"
	"github.com/funcx-go/funcx/provider/kubernetes/kubetest"
	"github.com/funcx-go/funcx/worker"
)

// Blocks as pods end to end: the engine's jobs become pods of a fake API
// server, a test kubelet runs each pod's command (as a local process, not
// in a container) with the pod's environment, and the managers it starts
// connect and run tasks. This proves the pod carries everything a manager
// needs; the API server and the container runtime are stand-ins.
func TestEngineOnKubernetesPods(t *testing.T) {
	t.Parallel()
	const ns = "funcx-e2e"
	client := fake.NewClientset()
	kubetest.Start(t, client, ns, nil)
	p, err := kubernetes.New(kubernetes.Config{
		Client: client, Namespace: ns, Image: "registry.example/funcx-endpoint:test", DeleteGrace: time.Second,
		Labels: map[string]string{endpoint.KubernetesEndpointLabelKey: "e2e"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, endpoint.Config{
		MaxWorkersPerNode: 2,
		Provider:          endpoint.ProviderConfig{InitBlocks: 1, MaxBlocks: 1, Walltime: time.Hour, Implementation: p},
	})
	const n = 50
	tasks := make([]funcx.Task, n)
	for i := range tasks {
		tasks[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameEcho), Args: []byte(fmt.Sprint(i))}
	}
	if err := e.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	got := collect(t, e, n, 2*time.Minute)
	for i, task := range tasks {
		if r := got[task.ID]; r.State != funcx.StateSuccess || string(r.Output) != fmt.Sprint(i) {
			t.Errorf("task %d: %+v", i, r)
		}
	}
	pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "funcx-run=" + e.RunID()})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of the run: %v, %v", pods, err)
	}
	if pod := pods.Items[0]; pod.Spec.ActiveDeadlineSeconds == nil || *pod.Spec.ActiveDeadlineSeconds != 3600 || pod.Labels[endpoint.KubernetesEndpointLabelKey] != "e2e" {
		t.Errorf("pod = %+v", pod.ObjectMeta)
	}
}
