// Package profile is the on-disk side of an endpoint: the profile
// directory $FUNCX_HOME/NAME that funcx-endpoint manages, its config.toml
// (decoded strictly into endpoint.Config), the registration record, the
// daemon's pid file and lock, the record of the current run, and the
// clean-up after a run that died without stopping.
//
// Layout of a profile:
//
//	$FUNCX_HOME/credentials.json      cached credentials, mode 0600 (package client)
//	$FUNCX_HOME/NAME/config.toml      the profile, written by Create with every option commented
//	$FUNCX_HOME/NAME/endpoint.json    the endpoint ID once registered
//	$FUNCX_HOME/NAME/daemon.pid       while running (locked by the daemon), or left by an unclean stop
//	$FUNCX_HOME/NAME/run.json         the running engine's run ID and blocks, for clean-up after a crash
//	$FUNCX_HOME/NAME/endpoint.log     the daemon's log (rotated)
//	$FUNCX_HOME/NAME/journal.db       the task journal (package internal/journal)
//
// States (see State): Initialized (configured, never registered), Running
// (a daemon holds the lock on daemon.pid), Stopped (registered, no
// daemon.pid), Disconnected (daemon.pid left behind, nobody holds its lock).
package profile
