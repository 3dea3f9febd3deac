// Package container starts funcx workers inside containers and stops them.
//
// A worker container is long-lived ("warm"): the static worker binary is
// bind-mounted into the image and serves many tasks, talking to its
// manager over a unix socket in a bind-mounted directory. The worker
// protocol is the same as for worker processes (internal/wire over a
// stream socket); only the way the connection is made differs
// (FUNCX_WORKER_ADDR instead of an inherited descriptor).
//
// Runtimes:
//
//   - Docker, through the Docker Engine API (github.com/docker/docker's
//     client, with API version negotiation). Containers carry ownership
//     labels (LabelManaged, LabelRun, LabelManager, LabelBlock) so that
//     those of a crashed manager are found and removed (RemoveOrphans,
//     RemoveRun).
//   - Singularity/Apptainer: `apptainer exec --bind … IMAGE WORKER…`
//     (or `singularity`, whichever is on PATH).
//   - Shifter: `shifter --image=IMAGE --volume=… -- WORKER…`.
//
// Binds are mounted at the same path inside the container as outside, so
// the worker binary and the socket directory have one name everywhere.
// The worker binary must be statically linked (CGO_ENABLED=0): images may
// hold no C library at all (FROM scratch). CheckStatic says whether it is.
package container
