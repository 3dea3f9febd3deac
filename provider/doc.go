// Package provider starts and stops the compute that runs managers: blocks.
//
// A block is one request to a resource manager — a local process group, a
// Slurm or PBS batch job, a Kubernetes pod — that starts one manager per
// node. Every implementation lives in its own leaf package (provider/local,
// provider/slurm, provider/pbs, provider/kubernetes) and satisfies the
// [Provider] interface; provider/providertest holds the conformance suite
// they all run and an in-memory fake.
//
// # Registry
//
// Each implementation registers its type (config.toml's provider.type)
// with [Register] when its package is imported, as database/sql drivers
// do; [New] builds a provider from an endpoint's [Settings] by type, and
// [Lookup] names the import a program is missing. A program links only
// the types it imports: the endpoint package links provider/local alone,
// endpoint/backends every type. docs/extending.md shows how to write and
// register a provider of your own.
//
// # Jobs and states
//
// [Provider.Submit] takes a [Job]: the shell command line that starts the
// manager(s), already wrapped by a [Launcher], plus the resources and
// scheduler options of the block. [Provider.Status] maps each scheduler's
// own vocabulary onto [JobState]. Walltime expiry is always [JobTimeout],
// never [JobFailed], so that an expected end is not mistaken for a crash.
//
// # Launchers
//
// A [Launcher] turns the manager command into the command that starts the
// right number of copies of it inside the block: [SingleNode] (background
// copies on one node), [Srun], [Mpiexec], [Aprun], or [Simple] (as is).
// [LauncherByName] resolves the names used in configuration files.
//
// # Scaling
//
// [Plan] is the block scaler: a pure function of the configuration, the
// outstanding tasks, the blocks and their states, and the clock. It never
// talks to a scheduler, which is what makes every scaling rule testable
// with a table. [BlockManager] drives Plan against a real Provider: it
// polls job states, submits and cancels blocks, counts failures for
// backoff, and cancels every block it started when stopped.
//
// # Scheduler commands
//
// Providers that drive command-line schedulers (sbatch, qsub …) run them
// through a [Runner], so unit tests substitute a fake and every command has
// a timeout ([ExecRunner]).
//
// # Optional interfaces
//
// Like nomad's driver plugins, features not every provider has are small
// extra interfaces found by type assertion: [Starter] for providers with
// work to do before their first block (with the caller's context:
// constructors do no I/O), [Shutdowner] for providers that own goroutines
// or processes, and [Validator] for drivers that check their settings.
package provider
