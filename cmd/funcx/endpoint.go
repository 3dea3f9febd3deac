package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/cli"
	"github.com/funcx-go/funcx/service/api"
)

type endpointCmd struct {
	List   endpointListCmd   `cmd:"" help:"List your endpoints."`
	Status endpointStatusCmd `cmd:"" help:"Show one endpoint."`
}

type endpointListCmd struct{}

func (endpointListCmd) Run(e *env) error {
	var eps []api.EndpointStatus
	err := e.withClient(func(c *client.Client) (err error) {
		eps, err = c.ListEndpoints(e.Ctx)
		return err
	})
	if err != nil {
		return err
	}
	if len(eps) == 0 {
		fmt.Fprintln(e.Sys.Stderr, "No endpoints: start one with `funcx-endpoint start`.")
		return nil
	}
	tw := tabwriter.NewWriter(e.Sys.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT ID\tNAME\tSTATUS\tMANAGERS\tWORKERS\tOUTSTANDING\tALERT\tLAST HEARTBEAT")
	now := time.Now()
	alerts := 0
	for _, ep := range eps {
		a := alert(ep)
		if a != "-" {
			alerts++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", ep.EndpointID, ep.Name, ep.Status, ep.Managers, ep.Workers, ep.Outstanding, a, ago(now, ep.LastHeartbeat))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if alerts > 0 {
		fmt.Fprintln(e.Sys.Stderr, "block-error: the endpoint's scheduler refused or failed a request; `funcx endpoint status ID` shows it.")
	}
	return nil
}

type endpointStatusCmd struct {
	EndpointID string `arg:"" name:"endpoint-id" help:"Endpoint to show."`
	JSON       bool   `name:"json" help:"Print the endpoint's status as the service returns it (JSON), with every field of its latest heartbeat."`
}

func (s *endpointStatusCmd) Run(e *env) error {
	return e.withClient(func(c *client.Client) error {
		ep, err := c.EndpointStatus(e.Ctx, s.EndpointID)
		if err != nil {
			return err
		}
		if s.JSON {
			enc := json.NewEncoder(e.Sys.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(ep)
		}
		return printEndpoint(e, ep)
	})
}

func printEndpoint(e *env, ep *api.EndpointStatus) error {
	now := time.Now()
	fields := [][2]string{
		{"Endpoint ID", ep.EndpointID},
		{"Name", ep.Name},
		{"Display name", cmp.Or(ep.DisplayName, "-")},
		{"Owner", ep.Owner},
		{"Status", ep.Status},
		{"Registered", ep.RegisteredAt.Local().Format(time.DateTime)},
		{"Last heartbeat", ago(now, ep.LastHeartbeat)},
		{"Managers", strconv.Itoa(ep.Managers)},
		{"Workers", strconv.Itoa(ep.Workers)},
		{"Outstanding tasks", strconv.Itoa(ep.Outstanding)},
	}
	if ep.BlockError != nil {
		// Right after the status: it is why an endpoint has no workers.
		fields = slices.Insert(fields, 5, [2]string{"Last scheduler error", blockErrorLine(now, ep.BlockError)})
	}
	if len(ep.Blocks) > 0 {
		fields = append(fields, [2]string{"Blocks", blockCounts(ep.Blocks)})
	}
	if ep.QuarantinedRecords > 0 {
		fields = append(fields, [2]string{"Damaged journal records", strconv.Itoa(ep.QuarantinedRecords) + " (set aside, their tasks failed: see the endpoint's log)"})
	}
	if err := cli.PrintFields(e.Sys.Stdout, fields); err != nil {
		return err
	}
	return printEndpointDetail(e.Sys.Stdout, now, ep)
}

// ago says how long before now t was, "never" for the zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
