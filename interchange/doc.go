// Package interchange accepts managers over TCP, keeps the endpoint's
// pending tasks, dispatches them in batches through a routing.Router and
// returns their results.
//
// The interchange runs inside the endpoint process. The endpoint gives it
// tasks with Submit and takes results from Results; everything between —
// which manager runs what, retries after a lost manager — happens here.
//
// # Connections
//
// A manager connects, sends a Hello with the endpoint run's secret and its
// protocol version, and is refused (with a reason on the wire and a log
// line) if either is wrong. An accepted manager gets tasks up to its
// capacity (workers + prefetch); each connection has one reader and one
// writer goroutine, and the writer sends whatever accumulated since its
// last flush as one frame, so batching follows load by itself.
//
// # Container types
//
// Tasks queue per container type (funcx.Task.Container). Under hard
// routing a manager gets only the types of its Hello; under soft routing
// the interchange reads the idle warm containers per type from each
// manager's latest Status frame (less the tasks of that type sent since)
// and prefers those managers. Config.Refuse answers at once the tasks no
// manager will ever serve. Stats.Routing sums the managers' warm hits,
// cold starts and switches.
//
// # Lost managers
//
// A manager whose connection breaks or that is silent for the heartbeat
// threshold is lost: its in-flight tasks are retried (up to
// MaxRetriesOnSystemFailure) or fail with funcx.ManagerLost. Results that a
// lost manager still sends are dropped, so a task never gets two results
// from the interchange.
package interchange
