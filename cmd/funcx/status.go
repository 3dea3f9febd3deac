package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/service/api"
)

type statusCmd struct {
	TaskIDs []string `arg:"" name:"task-id" help:"Tasks to show."`
}

func (s *statusCmd) Run(e *env) error {
	var sts []api.TaskStatus
	err := e.withClient(func(c *client.Client) (err error) {
		sts, err = c.TaskStatus(e.Ctx, s.TaskIDs...)
		return err
	})
	if err != nil {
		return err
	}
	byID := make(map[string]api.TaskStatus, len(sts))
	for _, st := range sts {
		byID[st.TaskID] = st
	}
	tw := tabwriter.NewWriter(e.Sys.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK ID\tSTATE\tENDPOINT ID\tDETAIL")
	missing := 0
	for _, id := range s.TaskIDs {
		st, ok := byID[id]
		if !ok {
			missing++
			fmt.Fprintf(tw, "%s\tnot-found\t-\t-\n", id)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, st.State, st.EndpointID, detail(st.Result))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if missing > 0 {
		return failed("%d of %d tasks not found (unknown, or another identity's)", missing, len(s.TaskIDs))
	}
	return nil
}

// detail summarises a result in a few words.
func detail(r *api.TaskResult) string {
	switch {
	case r == nil:
		return "-"
	case r.Error != nil:
		return r.Error.Kind + ": " + r.Error.Message
	case len(r.Output) > 0:
		return "output " + truncate(string(r.Output), 40)
	default:
		return fmt.Sprintf("exit %d", r.ExitCode)
	}
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
