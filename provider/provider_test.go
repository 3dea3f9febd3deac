package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
)

func TestJobWithDefaults(t *testing.T) {
	t.Parallel()
	got := provider.Job{BlockID: "7", Command: "x"}.WithDefaults()
	if got.Name != "funcx-7" || got.Nodes != 1 || got.TasksPerNode != 1 {
		t.Errorf("WithDefaults() = %+v", got)
	}
	kept := provider.Job{BlockID: "7", Name: "mine", Nodes: 3, TasksPerNode: 4}.WithDefaults()
	if kept.Name != "mine" || kept.Nodes != 3 || kept.TasksPerNode != 4 {
		t.Errorf("WithDefaults() overwrote set fields: %+v", kept)
	}
}

func TestJobValidate(t *testing.T) {
	t.Parallel()
	valid := provider.Job{BlockID: "block-1.a_b", Command: "true", Env: map[string]string{"A_1": "x"}}
	tests := []struct {
		name    string
		mutate  func(*provider.Job)
		wantErr string // empty: valid
	}{
		{"valid", func(*provider.Job) {}, ""},
		{"empty block ID", func(j *provider.Job) { j.BlockID = "" }, "BlockID"},
		{"block ID with slash", func(j *provider.Job) { j.BlockID = "../etc" }, "BlockID"},
		{"block ID with space", func(j *provider.Job) { j.BlockID = "a b" }, "BlockID"},
		{"empty command", func(j *provider.Job) { j.Command = "" }, "Command"},
		{"bad env name", func(j *provider.Job) { j.Env = map[string]string{"1X": "y"} }, "Env name"},
		{"negative nodes", func(j *provider.Job) { j.Nodes = -1 }, "Nodes"},
		{"negative tasks", func(j *provider.Job) { j.TasksPerNode = -2 }, "TasksPerNode"},
		{"negative memory", func(j *provider.Job) { j.MemoryPerNode = -1 }, "MemoryPerNode"},
		{"negative walltime", func(j *provider.Job) { j.Walltime = -time.Second }, "Walltime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := valid
			tt.mutate(&j)
			err := j.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestJobScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		job  provider.Job
		want string
	}{
		{"command only", provider.Job{Command: "run"}, "run\n"},
		{"with worker init", provider.Job{WorkerInit: "module load x", Command: "run"}, "module load x\nrun\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.job.Script(); got != tt.want {
				t.Errorf("Script() = %q, want %q", got, tt.want)
			}
		})
	}
}

type shutdownRecorder struct {
	provider.Provider
	calls int
	err   error
}

func (s *shutdownRecorder) Shutdown(context.Context) error { s.calls++; return s.err }

func TestShutdown(t *testing.T) {
	t.Parallel()
	t.Run("not a shutdowner", func(t *testing.T) {
		t.Parallel()
		if err := provider.Shutdown(context.Background(), providertest.NewFake(providertest.FakeConfig{})); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})
	t.Run("shutdowner", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		s := &shutdownRecorder{err: boom}
		if err := provider.Shutdown(context.Background(), s); !errors.Is(err, boom) || s.calls != 1 {
			t.Errorf("Shutdown = %v after %d calls", err, s.calls)
		}
	})
}
