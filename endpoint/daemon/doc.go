// Package daemon runs an endpoint profile as a crash-safe daemon: what
// funcx-endpoint start, stop and the daemon it launches do, as a library,
// so that a program embedding an endpoint gets the same guarantees.
//
// # Serving
//
// Serve runs the endpoint of a profile (package endpoint/profile) until
// its context ends. It holds the profile's daemon lock (daemon.pid) for
// its whole life, logs to endpoint.log (rotated), dials the broker (over
// TLS for an amqps:// URL, checking its certificate against
// Handoff.BrokerCAFile, else the system's roots) and gives up with the
// last dial error if the endpoint is not up within the start-up timeout,
// or at once if the broker's certificate is refused, records the run in run.json before any block starts
// (and its blocks and stop progress while it runs), and after a stop
// kills every process of the run that outlived its blocks. A clean stop
// removes run.json and then daemon.pid; a crash leaves both, for Cleanup.
//
// # Starting in the background
//
// Spawn starts a program again as a daemon, in a session of its own,
// hands it the registration (Handoff) on its stdin, never its argv or
// environment, and waits for its one report on a pipe: up, or why not.
// The program calls ServeChild when it is started so.
//
// # Stopping and cleaning up
//
// Stop signals a running daemon and waits until it is gone, killing it
// after a timeout; Cleanup removes what a daemon that died left behind:
// the processes of its run, its batch jobs and its containers. Register
// registers a profile's endpoint with the service, reusing the endpoint
// ID recorded in the profile.
//
// The package never prints: it returns errors and reports, and calls the
// callbacks of its configurations.
package daemon
