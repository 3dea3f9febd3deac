package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
)

// Polling of `funcx result --wait`: these tasks may have finished before
// the command started, so it asks for their status rather than
// long-polling new results; the pause doubles up to resultPollMax.
const (
	resultPollMin = 50 * time.Millisecond
	resultPollMax = 2 * time.Second
)

type resultCmd struct {
	Wait    time.Duration `help:"Wait up to this long for unfinished tasks (1m, 1h)."`
	TaskIDs []string      `arg:"" name:"task-id" help:"Tasks whose results to print. Exit status 1 if any is unknown or unfinished."`
}

func (r *resultCmd) Run(e *env) error {
	return e.withClient(func(c *client.Client) error { return r.run(e, c) })
}

func (r *resultCmd) run(e *env, c *client.Client) error {
	ctx := e.Ctx
	if r.Wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Wait)
		defer cancel()
	}
	states := make(map[string]string) // last state of each unfinished task
	pending, err := r.poll(ctx, e, c, states)
	if err != nil {
		return err
	}
	for _, id := range pending {
		if st, ok := states[id]; ok {
			fmt.Fprintf(e.Sys.Stderr, "funcx: task %s is %s\n", id, st)
		} else {
			fmt.Fprintf(e.Sys.Stderr, "funcx: task %s not found (unknown, or another identity's)\n", id)
		}
	}
	if len(pending) > 0 {
		return failed("%d of %d tasks have no result", len(pending), len(r.TaskIDs))
	}
	return nil
}

// poll prints the results of the tasks as they finish, until all have
// or ctx (--wait) ends, and returns those left without a result.
func (r *resultCmd) poll(ctx context.Context, e *env, c *client.Client, states map[string]string) ([]string, error) {
	enc := json.NewEncoder(e.Sys.Stdout)
	pending := append([]string(nil), r.TaskIDs...)
	for pause := resultPollMin; ; pause = min(pause*2, resultPollMax) {
		var err error
		pending, err = r.printFinished(ctx, c, enc, pending, states)
		if err != nil {
			if ctx.Err() != nil && e.Ctx.Err() == nil {
				return pending, nil // --wait is over
			}
			return pending, err
		}
		if len(pending) == 0 || r.Wait == 0 {
			return pending, nil
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if ctx.Err() != nil {
			return pending, e.Ctx.Err() // nil when --wait is over
		}
	}
}

// printFinished prints the results of the tasks in ids that have one and
// returns the others, recording the state of each that exists.
func (r *resultCmd) printFinished(ctx context.Context, c *client.Client, enc *json.Encoder, ids []string, states map[string]string) ([]string, error) {
	sts, err := c.TaskStatus(ctx, ids...)
	if err != nil {
		return ids, err
	}
	done := make(map[string]bool, len(sts))
	for _, st := range sts {
		s, _ := funcx.ParseTaskState(st.State)
		if !s.Terminal() || st.Result == nil {
			states[st.TaskID] = st.State
			continue
		}
		if err := enc.Encode(st.Result); err != nil {
			return ids, err
		}
		done[st.TaskID] = true
	}
	rest := ids[:0]
	for _, id := range ids {
		if !done[id] {
			rest = append(rest, id)
		}
	}
	return rest, nil
}
