package endpoint

import (
	"context"
	"time"

	"github.com/funcx-go/funcx/broker"
)

// A graceful stop, step by step. The link has stopped taking tasks but
// keeps its broker connection (dialing again if it is lost) until the
// stop is over:
//
//  1. the tasks in flight finish, for up to StopGrace;
//  2. their results are journaled, published and confirmed by the
//     broker, in what is left of StopGrace but at least MinStopPublish,
//     waiting for the link to reconnect if the connection is down;
//  3. the last heartbeat (Stopping) goes out;
//
// then Run closes the connection and stops the engine. What could not
// be published stays in the outbox for the next run.

// MinStopPublish is the least time a stop gives the results of the
// tasks it let finish to reach the broker, even when the tasks used up
// StopGrace.
const MinStopPublish = 5 * time.Second

const (
	// stopDeliveriesTimeout bounds the broker's answer to a request for
	// no more deliveries.
	stopDeliveriesTimeout = 10 * time.Second
	// lastHeartbeatTimeout bounds the publish of the last heartbeat.
	lastHeartbeatTimeout = 5 * time.Second
	// stopReconnectMax caps the wait between reconnection attempts
	// during a stop, which has only its grace period.
	stopReconnectMax = time.Second
	// republishPause is the wait before publishing again on a connection
	// whose publish failed but which has not ended.
	republishPause = 200 * time.Millisecond
)

// stop runs the steps above once no more tasks are taken; stopHeartbeats
// ends the periodic heartbeats and returns once they have stopped.
func (r *runner) stop(stopHeartbeats func()) {
	began := time.Now()
	r.log.Info("stopping: no new tasks; letting tasks in flight finish",
		"in_flight", r.eng.Status().Interchange.InFlight, "grace", r.rc.StopGrace)
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), r.rc.StopGrace)
	defer cancelGrace()
	if err := r.eng.Drain(graceCtx); err != nil {
		r.log.Warn("tasks still running at the end of the grace period stay journaled for the next run", "err", err)
	}

	deadline := began.Add(r.rc.StopGrace)
	if least := time.Now().Add(MinStopPublish); deadline.Before(least) {
		deadline = least
	}
	publishCtx, cancelPublish := context.WithDeadline(context.Background(), deadline)
	defer cancelPublish()
	r.waitRecorded(publishCtx)
	if left := r.publishFinal(publishCtx); left > 0 {
		r.log.Error("the broker could not be reached during the stop: results stay in the outbox and are published at the next start",
			"results", left, "journal", r.rc.JournalPath)
	} else {
		r.log.Info("stopping: every result is published")
	}

	stopHeartbeats()
	conn := r.conns.current()
	if conn == nil {
		return
	}
	hb := r.heartbeat()
	hb.Stopping = true
	hbCtx, cancelHB := context.WithTimeout(context.Background(), lastHeartbeatTimeout)
	defer cancelHB()
	if err := conn.PublishHeartbeat(hbCtx, hb); err != nil {
		r.log.Warn("the last heartbeat failed: the service sees the endpoint go offline later", "err", err)
	}
}

// publishFinal publishes the outbox and removes what the broker
// confirmed, waiting for the link to (re)connect while ctx lasts if
// results are left. It returns how many results are left in the outbox.
func (r *runner) publishFinal(ctx context.Context) (left int) {
	warned := false
	for {
		if r.flushOutbox(ctx, true) {
			break
		}
		if left = r.j.Stats().Outbox; left == 0 || ctx.Err() != nil {
			return left
		}
		conn := r.conns.current()
		if conn != nil {
			select {
			case <-conn.Done(): // lost; the link dials again
				conn = nil
			default:
			}
		}
		if conn == nil {
			if !warned {
				warned = true
				deadline, _ := ctx.Deadline()
				r.log.Warn("stopping: no broker connection; waiting for the link to publish the results",
					"results", left, "up_to", time.Until(deadline).Round(time.Millisecond))
			}
			if _, err := r.conns.await(ctx); err != nil {
				break
			}
			continue
		}
		// A publish failed on a connection that may still be up.
		select {
		case <-ctx.Done():
		case <-conn.Done():
		case <-time.After(republishPause):
		}
	}
	return r.j.Stats().Outbox
}

// stopDeliveries asks the broker for no more tasks on conn and returns
// held (a delivery that came after the stop began) to the queue. A
// connection that cannot stop its deliveries keeps them unacked: the
// broker delivers them again once the connection closes.
func (r *runner) stopDeliveries(ctx context.Context, conn broker.EndpointConn, held *broker.Delivery) {
	s, ok := conn.(broker.DeliveryStopper)
	if !ok {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, stopDeliveriesTimeout)
	defer cancel()
	if err := s.StopDeliveries(sctx); err != nil {
		select {
		case <-conn.Done():
			return // lost: the link dials again
		default:
		}
		r.log.Warn("could not stop the broker's deliveries: tasks delivered from now on return to the queue when the connection closes", "err", err)
		return
	}
	if held != nil {
		if err := held.Nack(); err != nil {
			r.log.Warn("returning a task batch delivered after the stop began failed: it returns to the queue when the connection closes", "err", err)
		}
	}
}
