// Package kubernetes is the provider that runs each block as one pod,
// through client-go.
//
// The pod's one container runs the block's script (the job's worker_init
// and the launcher-wrapped manager command) with Config.Shell -c, so the
// image must hold that shell and the funcx-endpoint binary the manager
// command names; the managers start their workers inside the same pod.
// Pods are labelled app.kubernetes.io/managed-by=funcx plus the
// provider's and the job's labels (endpoint, run, block), which is how
// Provider.RemoveOrphans finds the pods a crashed endpoint left behind.
// They run without privilege escalation, with every capability dropped,
// the runtime's seccomp profile and, unless Config.AllowRoot, as a
// non-root user; restartPolicy is Never, because a block that ends is
// replaced by the scaler.
//
// Status lists the provider's pods once for all IDs and maps each pod's
// phase and its container's state: Pending (scheduling, pulling,
// ContainerCreating) is pending, but an image that cannot be pulled
// (ErrImagePull, ImagePullBackOff) or a container that cannot be created
// is failed at once, with Kubernetes' message; Running is running;
// Succeeded is completed; Failed is failed with the container's exit code
// and its termination message — the end of its log, by
// FallbackToLogsOnError — or OOMKilled; a pod past its
// activeDeadlineSeconds (the job's walltime) is timeout. A pod that has
// ended is deleted once its final state is recorded, unless
// Config.KeepFinishedPods, so finished blocks leave nothing behind; a pod
// that is gone is missing (or cancelled, if this provider deleted it).
//
// The job's environment, which carries the run's secret, is put in the
// pod spec as plain environment variables: anyone who may read pods in
// the namespace may read it. Use a namespace of the endpoint's own.
package kubernetes
