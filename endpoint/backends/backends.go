// Package backends links every provider type and container runtime of
// this module into a program, for their side effect of registering
// themselves:
//
//	import _ "github.com/funcx-go/funcx/endpoint/backends"
//
// funcx-endpoint imports it, so that any profile runs. A program that
// embeds an endpoint imports only the backends it uses instead
// (provider/slurm, container/docker, ...): the endpoint package links the
// local provider alone, and the Kubernetes and Docker clients are large.
// The program that serves the manager role (endpoint.ServeChildRole) must
// link the container runtime of worker_mode too.
package backends

import (
	_ "github.com/funcx-go/funcx/container/docker"
	_ "github.com/funcx-go/funcx/container/shifter"
	_ "github.com/funcx-go/funcx/container/singularity"
	_ "github.com/funcx-go/funcx/provider/kubernetes"
	_ "github.com/funcx-go/funcx/provider/local"
	_ "github.com/funcx-go/funcx/provider/pbs"
	_ "github.com/funcx-go/funcx/provider/slurm"
)
