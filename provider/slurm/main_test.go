package slurm_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/endpoint"
)

// The test binary is also the manager and worker binary of the engines
// the integration tests start: slurmd runs it on this host from the
// sbatch script.
func TestMain(m *testing.M) {
	endpoint.ServeChildRole()
	goleak.VerifyTestMain(m)
}
