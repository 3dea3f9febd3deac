package membroker_test

import (
	"context"
	"fmt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/membroker"
)

// The service's side and an endpoint's side of one in-process broker.
func Example() {
	ctx := context.Background()
	b, _ := membroker.New(membroker.Config{})
	defer b.Close()

	creds, _ := b.EnsureEndpoint(ctx, "ep1")
	_ = b.PublishTasks(ctx, "ep1", []funcx.Task{{ID: funcx.NewTaskID(), Function: funcx.GoFunc("double")}})

	conn, _ := b.DialEndpoint(ctx, creds)
	defer conn.Close()
	d := <-conn.Deliveries()
	_ = d.Ack() // once journaled
	_ = conn.PublishResults(ctx, []funcx.Result{{TaskID: d.Tasks[0].ID, State: funcx.StateSuccess, Output: []byte("4")}})

	ctx, stop := context.WithCancel(ctx)
	_ = b.ConsumeResults(ctx, func(_ context.Context, endpointID string, m broker.Message) error {
		fmt.Printf("%s: %s\n", endpointID, m.Results[0].Output)
		stop()
		return nil
	})
	// Output: ep1: 4
}
