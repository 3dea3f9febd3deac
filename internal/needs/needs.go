// Package needs marks the tests that need an external service, so that
// `go test -short ./...` runs every other test with no service at all.
//
// The policy of the whole tree: -short means "no external service
// needed" (no RabbitMQ, dockerd, Slurm, python3 or PostgreSQL), and
// nothing else is skipped. A test that needs a service calls Services
// first: under -short it skips, naming the services; without -short it
// runs, and its own probe of the service fails it (never skips it) when
// the service is missing, saying to run scripts/start-services.sh.
package needs

import (
	"strings"
	"testing"
)

// The external services tests name.
const (
	RabbitMQ = "RabbitMQ"
	Docker   = "dockerd"
	Slurm    = "Slurm"
	Python   = "python3"
)

// Services skips tb under -short, saying which services it needs; it
// does nothing otherwise.
func Services(tb testing.TB, services ...string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("-short: needs %s (runs without -short; scripts/start-services.sh starts it)", strings.Join(services, " and "))
	}
}
