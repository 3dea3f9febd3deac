package provider_test

import (
	"encoding/json"
	"testing"

	"github.com/funcx-go/funcx/provider"
)

func TestJobState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state    provider.JobState
		name     string
		terminal bool
	}{
		{provider.JobUnknown, "unknown", false},
		{provider.JobPending, "pending", false},
		{provider.JobRunning, "running", false},
		{provider.JobCancelled, "cancelled", true},
		{provider.JobCompleted, "completed", true},
		{provider.JobFailed, "failed", true},
		{provider.JobTimeout, "timeout", true},
		{provider.JobHeld, "held", false},
		{provider.JobMissing, "missing", true},
		{provider.JobScaledIn, "scaled-in", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.state.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
			if got := tt.state.Terminal(); got != tt.terminal {
				t.Errorf("Terminal() = %v, want %v", got, tt.terminal)
			}
			b, err := json.Marshal(tt.state)
			if err != nil || string(b) != `"`+tt.name+`"` {
				t.Fatalf("json.Marshal = %s, %v", b, err)
			}
			var back provider.JobState
			if err := json.Unmarshal(b, &back); err != nil || back != tt.state {
				t.Errorf("json.Unmarshal(%s) = %v, %v", b, back, err)
			}
		})
	}
	t.Run("unknown name", func(t *testing.T) {
		t.Parallel()
		var s provider.JobState
		if err := s.UnmarshalText([]byte("exploded")); err == nil {
			t.Error("UnmarshalText accepted an unknown name")
		}
	})
	t.Run("out of range", func(t *testing.T) {
		t.Parallel()
		s := provider.JobState(200)
		if got := s.String(); got != "JobState(200)" {
			t.Errorf("String() = %q", got)
		}
		if _, err := s.MarshalText(); err == nil {
			t.Error("MarshalText accepted an out-of-range state")
		}
		if s.Terminal() {
			t.Error("an out-of-range state is terminal")
		}
	})
}
