package endpoint_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/endpoint"
	"github.com/funcx-go/funcx/service/api"
)

// An endpoint heartbeats as soon as its link is up and again as soon as
// it is back after a lost connection, not a heartbeat period later: with
// a period of an hour, the service sees it online right after Ready, and
// a fresh heartbeat right after a reconnect.
func TestHeartbeatAtOnceWhenLinked(t *testing.T) {
	t.Parallel()
	f := startFabric(t, inProcessBroker)
	d := &cuttableDial{f: f}
	f.runEndpointWith(t, filepath.Join(t.TempDir(), "journal.db"), func(rc *endpoint.RunConfig) {
		rc.HeartbeatPeriod, rc.HeartbeatThreshold = time.Hour, 2*time.Hour
		// A dial that takes a moment, as a real one does: the heartbeat
		// loop starts before the link has a connection.
		rc.Dial = func(ctx context.Context) (broker.EndpointConn, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			return d.dial(ctx)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // far below the hour
	defer cancel()

	first := waitHeartbeat(ctx, t, f, time.Time{})
	d.sever() // the link dials again
	waitHeartbeat(ctx, t, f, first)
}

// waitHeartbeat waits until the service has the endpoint online with a
// heartbeat newer than after, and returns that heartbeat's time.
func waitHeartbeat(ctx context.Context, t *testing.T, f *fabric, after time.Time) time.Time {
	t.Helper()
	var st *api.EndpointStatus
	for {
		var err error
		st, err = f.cl.EndpointStatus(ctx, f.endpointID)
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		if err == nil && st.Status == "online" && st.LastHeartbeat.After(after) {
			return st.LastHeartbeat
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no heartbeat after %v while the heartbeat period is an hour: the service has %+v", after, st)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
