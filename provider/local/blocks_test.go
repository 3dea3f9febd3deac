package local_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/local"
	"github.com/funcx-go/funcx/provider/providertest"
)

// The whole chain as an endpoint uses it: a BlockManager starting
// launcher-wrapped local blocks, and Stop leaving no process behind.
func TestBlockManagerWithLocalBlocks(t *testing.T) {
	t.Parallel()
	p := newProvider(t, local.Config{})
	dir := t.TempDir()
	launcher := provider.SingleNode{}
	m, err := provider.NewBlockManager(provider.BlockManagerConfig{
		Provider: p,
		JobTemplate: func(id string) provider.Job {
			return provider.Job{
				ScriptDir:    dir,
				TasksPerNode: 2,
				Command:      launcher.Wrap(`echo "manager $FUNCX_LAUNCH_RANK up"; exec sleep 3600`, 2, 1),
			}
		},
		Scaling:        provider.ScalingConfig{InitBlocks: 2, MaxBlocks: 2},
		Interval:       10 * time.Millisecond,
		StatusInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	var jobs []provider.JobID
	for _, b := range m.Snapshot().Blocks {
		jobs = append(jobs, b.JobID)
	}
	if len(jobs) != 2 {
		t.Fatalf("blocks after Start: %+v", m.Snapshot().Blocks)
	}
	providertest.WaitFor(t, 10*time.Second, "both managers of both blocks up", func() bool {
		for _, id := range []string{"0", "1"} {
			b, _ := os.ReadFile(filepath.Join(dir, id+".out"))
			if strings.Count(string(b), " up") != 2 {
				return false
			}
		}
		return true
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, b := range m.Snapshot().Blocks {
		if b.State != provider.JobCancelled {
			t.Errorf("block %s is %s after Stop", b.ID, b.State)
		}
	}
	for _, id := range jobs {
		if err := groupGone(p, id); err != nil {
			t.Errorf("after Stop: %v", err)
		}
	}
}
