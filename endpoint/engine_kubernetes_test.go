package endpoint_test

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"strings"
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

// hostAddr is an address of this host other than loopback, which a
// Kubernetes profile needs (pods cannot dial 127.0.0.1); the test kubelet
// runs pods as local processes, which reach it.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && !ip.IP.IsLoopback() && ip.IP.To4() != nil {
			return ip.IP.String() + ":0"
		}
	}
	t.Fatal("this host has no non-loopback IPv4 address for the interchange")
	return ""
}

// Under hard routing with container.images, Kubernetes blocks are pods of
// the tasks' images (the seed's "managers are deployed per image"): each
// image gets pods of its own, and its tasks run only on managers in them;
// tasks without an image run in pods of provider.kubernetes.image.
func TestEngineKubernetesPodsPerImage(t *testing.T) {
	t.Parallel()
	const ns = "funcx-per-image"
	const defaultImage, imageA, imageB = "registry.example/funcx-endpoint:test", "registry.example/science-a:1", "registry.example/science-b:2"
	client := fake.NewClientset()
	kubetest.Start(t, client, ns, nil)
	p, err := kubernetes.New(kubernetes.Config{Client: client, Namespace: ns, Image: defaultImage, DeleteGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, endpoint.Config{
		MaxWorkersPerNode: 2, ContainerRouting: endpoint.RoutingHard, InterchangeAddr: hostAddr(t),
		Container: endpoint.ContainerConfig{Images: []string{imageA, imageB}},
		Provider: endpoint.ProviderConfig{Type: "kubernetes", Implementation: p, InitBlocks: 1, MaxBlocks: 1,
			Kubernetes: endpoint.KubernetesConfig{Image: defaultImage}},
	})
	images := []string{funcx.RawContainer, imageA, imageB}
	var tasks []funcx.Task
	for i := range 30 {
		tasks = append(tasks, funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc(worker.NameEcho), Args: []byte(fmt.Sprint(i)), Container: images[i%3]})
	}
	if err := e.Submit(tasks...); err != nil {
		t.Fatal(err)
	}
	got := collect(t, e, len(tasks), 2*time.Minute)

	pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "funcx-run=" + e.RunID()})
	if err != nil {
		t.Fatal(err)
	}
	imageOfBlock := map[string]string{}
	for _, pod := range pods.Items {
		imageOfBlock[pod.Labels["funcx-block"]] = pod.Spec.Containers[0].Image
	}
	if len(imageOfBlock) != 3 {
		t.Fatalf("pods by block: %v, want one per type", imageOfBlock)
	}
	for i, task := range tasks {
		r := got[task.ID]
		if r.State != funcx.StateSuccess || string(r.Output) != fmt.Sprint(i) {
			t.Fatalf("task %d: %+v", i, r)
		}
		block, _, _ := strings.Cut(r.Manager, ".")
		want := cmp.Or(task.Container, defaultImage)
		if imageOfBlock[block] != want {
			t.Errorf("task %d of image %q ran on manager %s, in a pod of %q", i, task.Container, r.Manager, imageOfBlock[block])
		}
	}
}
