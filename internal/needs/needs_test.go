package needs_test

import (
	"testing"

	"github.com/funcx-go/funcx/internal/needs"
)

// Under -short a test that needs a service skips; without -short it runs
// on (and its own probe of the service fails it when the service is
// missing).
func TestServicesSkipsOnlyUnderShort(t *testing.T) {
	ran := false
	t.Run("needs RabbitMQ", func(t *testing.T) {
		needs.Services(t, needs.RabbitMQ, needs.Python)
		ran = true
	})
	if ran == testing.Short() {
		t.Fatalf("-short %v: the test ran on: %v", testing.Short(), ran)
	}
}
