package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/funcx-go/funcx/client"
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
		eps, err = c.ListEndpoints(e.ctx)
		return err
	})
	if err != nil {
		return err
	}
	if len(eps) == 0 {
		fmt.Fprintln(e.sys.stderr, "No endpoints: start one with `funcx-endpoint start`.")
		return nil
	}
	tw := tabwriter.NewWriter(e.sys.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT ID\tNAME\tSTATUS\tMANAGERS\tWORKERS\tOUTSTANDING\tLAST HEARTBEAT")
	now := time.Now()
	for _, ep := range eps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", ep.EndpointID, ep.Name, ep.Status, ep.Managers, ep.Workers, ep.Outstanding, ago(now, ep.LastHeartbeat))
	}
	return tw.Flush()
}

type endpointStatusCmd struct {
	EndpointID string `arg:"" name:"endpoint-id" help:"Endpoint to show."`
}

func (s *endpointStatusCmd) Run(e *env) error {
	return e.withClient(func(c *client.Client) error {
		ep, err := c.EndpointStatus(e.ctx, s.EndpointID)
		if err != nil {
			return err
		}
		return printEndpoint(e, ep)
	})
}

func printEndpoint(e *env, ep *api.EndpointStatus) error {
	now := time.Now()
	return printFields(e.sys.stdout, [][2]string{
		{"Endpoint ID", ep.EndpointID},
		{"Name", ep.Name},
		{"Display name", firstSet(ep.DisplayName, "-")},
		{"Owner", ep.Owner},
		{"Status", ep.Status},
		{"Registered", ep.RegisteredAt.Local().Format(time.DateTime)},
		{"Last heartbeat", ago(now, ep.LastHeartbeat)},
		{"Managers", strconv.Itoa(ep.Managers)},
		{"Workers", strconv.Itoa(ep.Workers)},
		{"Outstanding tasks", strconv.Itoa(ep.Outstanding)},
	})
}

// ago says how long before now t was, "never" for the zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
