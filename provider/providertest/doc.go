// Package providertest helps test providers and the code that uses them.
//
//   - [RunConformance] is the behaviour every provider.Provider must
//     have, as a test suite. Each implementation runs it: the [Fake], the
//     local provider, and the Slurm, PBS and Kubernetes providers against
//     their real (or shimmed) schedulers, with [Options] saying which
//     commands to run there.
//   - [Fake] is an in-memory provider whose jobs are moved by hand (or
//     move by themselves like a very fast scheduler), with injectable
//     errors and call counts, for testing scaling and endpoint code.
//   - [FakeRunner] is a provider.Runner that answers scheduler commands
//     from a function and records them, for unit-testing command-line
//     providers without a scheduler.
package providertest
