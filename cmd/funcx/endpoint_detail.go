package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// blockStateOrder is the order blocks by state are shown in: live states
// first, then the ended ones; states not listed follow, by name.
var blockStateOrder = []string{"running", "pending", "held", "unknown", "failed", "missing", "timeout", "cancelled", "scaled-in", "completed"}

// blockCounts says "2 running, 1 failed", or "-" when there are none.
func blockCounts(blocks map[string]int) string {
	var parts []string
	for _, s := range blockStateOrder {
		if n := blocks[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(blocks)) {
		if !slices.Contains(blockStateOrder, s) && blocks[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", blocks[s], s))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// blockErrorLine is the scheduler's last error with its age and image.
func blockErrorLine(now time.Time, e *api.BlockError) string {
	s := e.Message
	if e.Image != "" {
		s = "[" + e.Image + "] " + s
	}
	if !e.Time.IsZero() {
		s += " (" + ago(now, e.Time) + ")"
	}
	return s
}

// alert is endpoint list's one-word problem marker.
func alert(ep api.EndpointStatus) string {
	if ep.BlockError != nil {
		return "block-error"
	}
	return "-"
}

// printEndpointDetail prints the blocks with a message and the routing
// figures per manager, each as a table, after the endpoint's fields.
func printEndpointDetail(w io.Writer, now time.Time, ep *api.EndpointStatus) error {
	if len(ep.BlockProblems) > 0 {
		fmt.Fprintln(w, "\nBlocks with a message from the scheduler (newest last):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "BLOCK\tIMAGE\tJOB ID\tSTATE\tWHEN\tMESSAGE")
		for _, p := range ep.BlockProblems {
			state := p.State
			if p.ExitCode != 0 {
				state += " (exit " + strconv.Itoa(p.ExitCode) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Block, cmp.Or(p.Image, "-"), cmp.Or(p.JobID, "-"), state, ago(now, p.Time), oneLine(p.Message))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	r := ep.Routing
	if r == nil {
		return nil
	}
	t := r.Total
	fmt.Fprintf(w, "\nContainer routing: %d warm hits, %d cold starts, %d switches, %d retired, %d failed starts\n",
		t.WarmHits, t.ColdStarts, t.Switches, t.Retired, t.StartFailures)
	if len(r.Managers) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MANAGER\tBLOCK\tWARM HITS\tCOLD STARTS\tSWITCHES\tCONTAINERS (WORKERS/IDLE)")
	for _, m := range r.Managers {
		var cs []string
		for _, c := range m.Containers {
			cs = append(cs, fmt.Sprintf("%s %d/%d", cmp.Or(c.Container, "(none)"), c.Workers, c.Idle))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", m.Manager, cmp.Or(m.Block, "-"), m.WarmHits, m.ColdStarts, m.Switches, cmp.Or(strings.Join(cs, ", "), "-"))
	}
	return tw.Flush()
}

// oneLine keeps a scheduler message on its table row.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
