// Package funcx is the shared vocabulary of funcx-go, a federated
// function-serving fabric: the task and result model, task states, error
// kinds and identifiers that every other package speaks.
//
// # Architecture
//
// A client submits tasks to the service, which queues them on RabbitMQ for
// an endpoint. The endpoint journals each task, hands it to its
// interchange, and the interchange dispatches batches of tasks over TCP to
// managers, one per node, started by a provider block (a local process
// group, a Slurm or PBS job, a Kubernetes pod). Each manager supervises
// long-lived worker processes (optionally inside containers) that run one
// task at a time. Results travel back the same way, batched at every
// process boundary.
//
//	client --HTTPS--> service --AMQP--> RabbitMQ --AMQP--> endpoint
//	                                                        | interchange (in the endpoint process)
//	                                                        +--TCP--> manager (one per node)
//	                                                                   +--socket--> workers
//
// # Packages
//
//   - funcx (this package): Task, Result, Function, TaskState, ErrorKind.
//   - endpoint: Config, the engine that runs interchange, scaler and
//     provider blocks together, and the profile directory.
//   - interchange: accepts managers, queues tasks, dispatches through a
//     routing.Router, detects lost managers.
//   - manager: one per node; starts and supervises workers.
//   - worker: runs tasks (shell, Go and Python functions);
//     worker.Register for Go functions, worker.Main for custom worker
//     binaries.
//   - provider: the Provider interface, job states, launchers and the block
//     scaler, with one leaf package per implementation.
//   - routing: Router strategies.
//
// # Delivery
//
// Every task ends with exactly one Result. A task whose worker dies fails
// with [WorkerLost]; one whose manager disappears fails with [ManagerLost]
// unless retries are configured. Nothing hangs silently.
package funcx
