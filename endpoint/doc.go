// Package endpoint runs a funcx endpoint: the interchange, the provider
// blocks that start managers, and (with the service link) the journal that
// makes sure no task is lost.
//
// # Engine
//
// The Engine is the fabric without the service: it takes tasks with Submit
// and gives results on Results, running them on managers that its
// provider starts (local processes, batch jobs, pods) and their workers.
// Tests, benchmarks and the quickstart example drive it directly; the
// endpoint daemon puts the RabbitMQ link and the journal in front of it.
//
// # Child processes
//
// Managers and workers are separate processes. By default the engine starts
// them by re-executing the current program, so a program that uses the
// engine must call ServeChildRole first thing in main:
//
//	func main() {
//		endpoint.ServeChildRole() // serves as a manager or worker when started as one
//		...
//	}
//
// Set Config.ManagerCommand and Config.WorkerCommand to use other binaries
// (such as a custom worker built with worker.Main).
//
// # Backends
//
// This package links the local provider and no other backend. Provider
// types (provider.type) and container runtimes (worker_mode) register
// themselves when their packages are imported; import the ones your
// configurations name, or endpoint/backends for all of them. A
// configuration naming one that is not linked is refused with the import
// to add. Config.Provider.Implementation and Config.Router take a provider
// and a router of your own (docs/extending.md, examples/embed).
package endpoint
