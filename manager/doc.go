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
// Managers are started by providers as separate processes. Any Go program
// that calls endpoint.ServeChildRole (or manager.Main) at the top of main
// can serve as the manager binary: the role and configuration arrive in
// the environment (FUNCX_ROLE=manager, FUNCX_MANAGER_CONFIG).
package manager
