// Package manager runs on each node of a block: it connects to the
// interchange, authenticates with the endpoint run's secret, starts and
// supervises the node's workers, and moves task batches in and result
// batches out.
//
// A manager never outlives its purpose: when the interchange is gone (its
// connection breaks, or it is silent for the heartbeat threshold) the
// manager stops its workers and exits; before its block's walltime it
// drains (hands unstarted tasks back, finishes running ones); a worker
// that dies fails its task with funcx.WorkerLost and is replaced.
//
// Plain workers also hold a few queued tasks behind the one they run
// (Config.WorkerQueue), so that short tasks do not wait a manager round
// trip each; a worker that stalls on a long task hands its queue back for
// idle workers (see pipeline.go). Tasks queued in a worker that dies never
// started: they go to another worker, not to WorkerLost.
//
// # Containers
//
// With Config.Container set, workers run in containers (docker,
// singularity, shifter; see package container): the static worker binary
// is mounted into the image and dials back over a unix socket of its own
// in a directory the manager mounts into the container. A hard-routed
// manager (one Container.Types entry) starts its containers at once and
// keeps them; a soft-routed one starts them on demand per task type,
// evicts the longest-idle container of another type when every slot is
// taken, and retires containers idle past Container.MaxIdle. Tasks
// without an image get plain worker processes. The manager reports its
// containers per type and its warm-hit, cold-start and switch counts to
// the interchange in Status frames, which soft routing reads.
//
// Managers are started by providers as separate processes. Any Go program
// that calls endpoint.ServeChildRole (or manager.Main) at the top of main
// can serve as the manager binary: the role and configuration arrive in
// the environment (FUNCX_ROLE=manager, FUNCX_MANAGER_CONFIG).
package manager
