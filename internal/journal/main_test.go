package journal

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The crash test re-executes this binary as the process it kills.
	if mode := os.Getenv(crashModeEnv); mode != "" {
		os.Exit(crashChild(mode, os.Getenv(crashPathEnv), os.Getenv(crashRoundEnv)))
	}
	goleak.VerifyTestMain(m)
}
