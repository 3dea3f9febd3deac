// Package journal is the endpoint's local durable store (journal.db in the
// profile directory): tasks taken from the broker, results waiting to be
// published, and the IDs of recently finished tasks. It is what makes
// "nothing is lost" hold across a crash or kill -9 (docs/architecture.md,
// Delivery).
//
// # Life of a task
//
//  1. The endpoint takes a batch of deliveries from RabbitMQ and calls
//     AddTasks. Only when it returns are the tasks durable, and only then
//     are the deliveries acked. AddTasks returns the tasks that were new;
//     redeliveries are acked without being dispatched again. An endpoint
//     that starts a task while its AddTasks commits asks Known (which
//     does not wait for a commit) whether a delivery is a redelivery, and
//     must not call AddResults for the task before its AddTasks returned:
//     the result of a task not yet journaled is dropped as an orphan.
//  2. When a result arrives, AddResults moves the task from the task table
//     to the outbox in one transaction, so a task is always in exactly one
//     of them and has at most one recorded result.
//  3. The endpoint publishes the result; when the broker confirms it,
//     Confirm removes it from the outbox and adds the task ID to the
//     recently-done set. A result the broker confirmed before it was
//     recorded need not enter the outbox at all: Confirm then takes its
//     task straight from the task table to the recently-done set, and
//     AddTasksConfirming does so in the commit of the next tasks.
//
// After a restart the endpoint re-publishes Outbox and re-dispatches
// PendingTasks: execution is at least once, the recorded result exactly
// one.
//
// # Group commit
//
// Every write waits for an fsync. A single committer goroutine gathers the
// calls that queue up while the previous commit is syncing (up to
// Options.MaxBatch records, optionally lingering Options.FlushInterval)
// and commits them in one bbolt transaction, so concurrent callers share
// the fsync. The endpoint should pass whole AMQP batches: the per-call
// cost is a channel round trip, the per-commit cost an fsync.
//
// # Duplicates
//
// A task ID is known while it is journaled, while its result is in the
// outbox, and for a while after it was confirmed: the recently-done set
// keeps the last Options.DoneLimit confirmed IDs for at most
// Options.DoneTTL (100,000 and 24 hours by default). A redelivery older
// than that runs again; the service keeps the first result.
//
// # Storage
//
// The file is a bbolt database holding a format version (Open refuses
// versions it does not know), a quarantine table (see Failures) and three
// tables keyed by an arrival sequence and the task ID, with records
// encoded by internal/wire. An
// in-memory index of IDs, rebuilt from the keys on Open, answers
// duplicate checks; it costs about 50 bytes per record. The file is
// locked while open, so two endpoints cannot share a profile.
//
// # Failures
//
// One damaged record must not stop an endpoint. A record that cannot be
// decoded, met by PendingTasks or Outbox, moves as it is to the quarantine
// table (one table per source table, under the record's key), is logged
// once with its key and why, and the failure of its task (InternalError:
// the task was not run, or its result is lost) takes its place in the
// outbox, so that it is published like any result and nobody waits for
// it forever. The reads go on with the other records. QuarantineTasks does
// the same for tasks that decode but that the endpoint will not run; a
// record under a malformed key, which names no task, is moved by Open.
// Stats.Quarantined counts the quarantined records.
//
// A failed commit makes every later write fail with ErrFailed: the
// journal must be reopened, which reads back what reached the disk.
package journal
