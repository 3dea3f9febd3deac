// Package container starts funcx workers inside containers and stops them.
//
// A worker container is long-lived ("warm"): the static worker binary is
// bind-mounted into the image and serves many tasks, talking to its
// manager over a unix socket in a bind-mounted directory. The worker
// protocol is the same as for worker processes (internal/wire over a
// stream socket); only the way the connection is made differs
// (FUNCX_WORKER_ADDR instead of an inherited descriptor).
//
// This package holds the Runtime interface, its Spec, the ownership
// labels and the registry; each runtime is a package of its own that
// registers its worker_mode name when imported, as database/sql drivers
// do, so that a program links only the runtimes it uses (the Docker
// client is large):
//
//   - container/docker: through the Docker Engine API. Containers carry
//     ownership labels (LabelManaged, LabelRun, LabelManager, LabelBlock)
//     so that those of a crashed manager are found and removed
//     (OrphanRemover, RunRemover).
//   - container/singularity: `apptainer exec --bind … IMAGE WORKER…` (or
//     `singularity`, whichever is on PATH).
//   - container/shifter: `shifter --image=IMAGE --volume=… -- WORKER…`.
//
// New and ValidateOptions name the import a program is missing. Optional
// features (Pinger, OrphanRemover, RunRemover) are small interfaces
// found by type assertion.
//
// Binds are mounted at the same path inside the container as outside, so
// the worker binary and the socket directory have one name everywhere.
// The worker binary must be statically linked (CGO_ENABLED=0): images may
// hold no C library at all (FROM scratch). CheckStatic says whether it is.
package container
