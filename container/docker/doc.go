// Package docker is the Docker container runtime: worker containers are
// created and removed through the Docker Engine API
// (github.com/docker/docker's client, with API version negotiation).
// Importing it registers the runtime as worker_mode "docker".
//
// Containers carry ownership labels (container.LabelManaged, LabelRun,
// LabelManager, LabelBlock) so that those of a crashed manager are found
// and removed (Runtime.RemoveOrphans, Runtime.RemoveRun). run_options
// holds a subset of `docker run` options (SupportedRunOptions), each
// translated to the API; others are refused at configuration time.
package docker
