// Package faults is the fault matrix: it runs shell tasks through the
// whole fabric as an operator runs it — the built funcx-service and
// funcx-endpoint binaries as processes of their own, the real RabbitMQ,
// two endpoints started with `funcx-endpoint start` (local provider) and
// the Go SDK — and injects one fault per run mid-way:
//
//   - none: the baseline;
//   - worker-kill, manager-kill: kill -9 of one worker or manager process
//     of the first endpoint;
//   - endpoint-kill: kill -9 of the first endpoint's daemon, then
//     `funcx-endpoint start` again;
//   - service-kill, service-term: kill -9 (or SIGTERM) of funcx-service,
//     started again on the same port and database after 5 s;
//   - rabbitmq-restart: rabbitmqctl stop_app, then start_app, holding the
//     machine-wide RabbitMQ lock exclusively from the strike until the
//     broker is up again (other tests share the broker; every run holds
//     the lock shared otherwise).
//
// Each run (Run) measures the truth a user and an operator care about:
// results received, tasks lost (accepted, never answered), results the
// SDK received twice and results the service dropped as duplicates,
// tasks that ran twice (each task appends its index to a file with
// O_APPEND), failed tasks by error kind, what outlived the stop
// (processes of the run, RabbitMQ virtual hosts, queues, exchanges and
// users of the deleted endpoints, files in the processes' TMPDIR) and how long the
// fabric took to recover. Row.Check states the promise: every task
// answered exactly once, nothing left behind.
//
// Everything a run starts it stops, whatever fails: endpoints with
// `funcx-endpoint stop` and `delete`, the service with SIGTERM, and what
// still lives after that (counted as orphans first) with SIGKILL and the
// RabbitMQ management API.
//
// The benchmark (go run ./bench -only faults) prints the matrix; the
// package's test runs it under ./scripts/test.sh.
package faults
