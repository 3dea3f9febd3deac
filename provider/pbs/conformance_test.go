package pbs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx/internal/procfs"
	"github.com/funcx-go/funcx/internal/proctest"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/pbs"
	"github.com/funcx-go/funcx/provider/providertest"
)

// shimServer is one PBS "server": a state directory for the shims.
type shimServer struct {
	state string
	env   []string
}

// newShimServer returns a fresh shim server whose jobs are all gone by the
// end of the test.
func newShimServer(t *testing.T) *shimServer {
	t.Helper()
	s := &shimServer{state: t.TempDir()}
	s.env = append(os.Environ(), "PBS_SHIM_STATE="+s.state, "PBS_SHIM_KILL_DELAY=1s", "PBS_SHIM_START_DELAY=100ms")
	t.Cleanup(func() {
		// Every MoM and job process carries the state directory in its
		// environment.
		proctest.WaitGone(t, "PBS_SHIM_STATE", s.state, 30*time.Second)
	})
	return s
}

// provider returns a provider using the shims, shut down at cleanup
// (registered after the server's, so it runs first).
func (s *shimServer) provider(t *testing.T, runner provider.Runner) *pbs.Provider {
	t.Helper()
	if runner == nil {
		runner = provider.ExecRunner{Timeout: 30 * time.Second, Env: s.env}
	}
	p, err := pbs.New(pbs.Config{
		Runner: runner,
		Qsub:   filepath.Join(shimDir, "qsub"),
		Qstat:  filepath.Join(shimDir, "qstat"),
		Qdel:   filepath.Join(shimDir, "qdel"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return p
}

// jobGone reports, as an error, a job whose process group still has a
// live process, reading the group from the shim's record.
func (s *shimServer) jobGone(_ provider.Provider, id provider.JobID) error {
	seq, _, _ := strings.Cut(string(id), ".")
	b, err := os.ReadFile(filepath.Join(s.state, "jobs", seq+".json"))
	if err != nil {
		return fmt.Errorf("read shim record: %w", err)
	}
	var rec struct {
		State string `json:"state"`
		PGID  int    `json:"pgid"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return err
	}
	if rec.State != "F" {
		return fmt.Errorf("job is %s in the shim", rec.State)
	}
	if rec.PGID == 0 {
		return nil // never ran
	}
	if pids := procfs.Find(func(_ int, st procfs.Stat) bool { return st.PGRP == rec.PGID }); len(pids) > 0 {
		return fmt.Errorf("processes %v of group %d alive", pids, rec.PGID)
	}
	return nil
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var servers sync.Map // *pbs.Provider -> *shimServer
	providertest.RunConformance(t, func(t *testing.T) provider.Provider {
		s := newShimServer(t)
		p := s.provider(t, nil)
		servers.Store(p, s)
		return p
	}, providertest.Options{
		StderrInMessage: true,
		Walltime:        time.Second,
		UnknownID:       "99999.pbsserver",
		CheckGone: func(p provider.Provider, id provider.JobID) error {
			s, ok := servers.Load(p)
			if !ok {
				return fmt.Errorf("no shim server for provider %p", p)
			}
			return s.(*shimServer).jobGone(p, id)
		},
		Timeout: 60 * time.Second,
	})
}
