package endpoint

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/container"
	"github.com/funcx-go/funcx/manager"
	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/routing"
)

// The container wiring of the engine: the router per worker_mode and
// container_routing, the managers' container settings, and under hard
// routing one set of blocks per container type.

// router is the caller's Router, or the one worker_mode and
// container_routing call for.
func (c *Config) router() routing.Router {
	if c.Router != nil {
		return c.Router
	}
	switch {
	case c.podsPerImage():
		return routing.Hard{}
	case c.WorkerMode == WorkerModeNoContainer:
		return routing.Plain{}
	case c.ContainerRouting == RoutingSoft:
		return routing.Soft{}
	}
	return routing.Hard{}
}

// refuseFor answers at once the tasks no manager will ever serve: under
// hard routing, those of an image not in container.images.
func refuseFor(cfg *Config) func(*funcx.Task) *funcx.TaskError {
	types := cfg.hardTypes()
	if len(types) == 0 {
		return nil
	}
	served := make(map[string]bool, len(types))
	for _, t := range types {
		served[t] = true
	}
	list := strings.Join(cfg.Container.Images, ", ")
	return func(t *funcx.Task) *funcx.TaskError {
		if served[t.Container] {
			return nil
		}
		return funcx.Errorf(funcx.InvalidTask, "image %s is not served by this endpoint: with container_routing = \"hard\" it runs only the images in container.images (%s); add it there, or use container_routing = \"soft\"", t.Container, list)
	}
}

// containerMode reports whether workers run in containers.
func (c *Config) containerMode() bool { return c.WorkerMode != WorkerModeNoContainer }

// podsPerImage reports whether blocks are Kubernetes pods of the tasks'
// images: the seed's "managers are deployed per image" row. The pod is
// the container, so its manager runs plain worker processes and serves
// the one type its image is.
func (c *Config) podsPerImage() bool {
	return c.Provider.Type == "kubernetes" && c.ContainerRouting == RoutingHard && len(c.Container.Images) > 0
}

// hardTypes are the container types that get their own blocks: under hard
// routing RAW and every image; otherwise none (one set of blocks serves
// all types).
func (c *Config) hardTypes() []string {
	if !c.podsPerImage() && (!c.containerMode() || c.ContainerRouting != RoutingHard) {
		return nil
	}
	return append([]string{funcx.RawContainer}, c.Container.Images...)
}

// managerContainer is the container part of the manager config for blocks
// serving typ (hard routing) or any type (soft).
func (c *Config) managerContainer(typ string) manager.ContainerConfig {
	if c.podsPerImage() && typ != funcx.RawContainer {
		return manager.ContainerConfig{Types: []string{typ}} // plain workers in the image's pod
	}
	if !c.containerMode() || (c.ContainerRouting == RoutingHard && typ == funcx.RawContainer) {
		return manager.ContainerConfig{} // plain worker processes
	}
	k := &c.Container
	mc := manager.ContainerConfig{
		Runtime:        c.WorkerMode,
		RunOptions:     k.RunOptions,
		Binds:          k.Binds,
		GPUs:           k.GPUs,
		RuntimeCommand: k.RuntimeCommand,
		WorkerBinary:   k.workerBinary(c),
		MaxIdle:        k.WorkerMaxIdleTime,
		StartTimeout:   k.StartTimeout,
	}
	if c.ContainerRouting == RoutingHard {
		mc.Types = []string{typ}
	}
	return mc
}

// blockImage is the image of the blocks serving typ: the pod's image when
// blocks are pods per image, else the provider's default.
func (c *Config) blockImage(typ string) string {
	if c.podsPerImage() {
		return typ // RAW ("") keeps provider.kubernetes.image
	}
	return ""
}

// blockPrefix keeps the block IDs of the per-type block managers apart:
// "t1-0" is block 0 of the second type.
func blockPrefix(i int) string { return "t" + strconv.Itoa(i) + "-" }

// prefixedProvider gives the blocks of one container type IDs of their
// own (their scripts and logs share LogDir with the other types').
type prefixedProvider struct {
	provider.Provider
	prefix string
}

func (p prefixedProvider) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	j.BlockID = p.prefix + j.BlockID
	return p.Provider.Submit(ctx, j)
}

// loadFor is the scaler's view of the blocks of container type typ under
// hard routing: its pending and running tasks, and its managers' blocks
// with the prefix taken off.
func (e *Engine) loadFor(typ, prefix string) provider.Load {
	s := e.ix.Stats()
	l := provider.Load{Outstanding: s.PendingByType[typ], Blocks: map[string]provider.BlockLoad{}}
	for _, m := range s.Managers {
		id, ok := strings.CutPrefix(m.BlockID, prefix)
		if !ok {
			continue
		}
		l.Outstanding += m.InFlight
		b := l.Blocks[id]
		idle := b.Managers == 0 || !b.IdleSince.IsZero()
		b.Connected = true
		b.Managers++
		b.Busy += m.InFlight
		switch {
		case !idle || m.IdleSince.IsZero():
			b.IdleSince = time.Time{}
		case m.IdleSince.After(b.IdleSince):
			b.IdleSince = m.IdleSince
		}
		l.Blocks[id] = b
	}
	return l
}

// removeRunContainers removes whatever containers of this run are left
// once every block has ended (managers that were killed cannot clean up
// after themselves), where the runtime can find them (Docker).
func (e *Engine) removeRunContainers(ctx context.Context) error {
	n, err := removeRun(ctx, e.cfg.WorkerMode, e.runID)
	if n > 0 {
		// Usual when blocks are cancelled while their managers still
		// remove their containers; the managers of a killed block leave
		// theirs to this sweep.
		e.log.Info("removed the run's remaining containers", "count", n)
	}
	if err != nil {
		return fmt.Errorf("engine: remove the run's containers: %w", err)
	}
	return nil
}

// removeRun removes the containers of run runID with the runtime of
// worker mode mode, if it is a container.RunRemover; the others leave
// nothing that outlives their managers.
func removeRun(ctx context.Context, mode, runID string) (int, error) {
	if mode == WorkerModeNoContainer || runID == "" {
		return 0, nil
	}
	rt, err := container.New(mode, container.Options{})
	if err != nil {
		return 0, err
	}
	defer func() {
		if c, ok := rt.(io.Closer); ok {
			_ = c.Close()
		}
	}()
	r, ok := rt.(container.RunRemover)
	if !ok {
		return 0, nil
	}
	return r.RemoveRun(ctx, runID)
}
