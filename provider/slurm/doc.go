// Package slurm is the provider that runs blocks as Slurm batch jobs.
//
// # Submitting
//
// Submit renders the job into an sbatch script (see [Script]): one
// "#SBATCH" directive per resource the job asks for, the job's
// SchedulerOptions verbatim after them (so that they can override ours),
// then the job's environment as exports, WorkerInit, and the
// launcher-wrapped manager command. The script is written to the job's
// ScriptDir as NAME.sbatch, readable only by its owner because the
// environment carries the run's secret; the job's stdout and stderr go
// to NAME.JOBID.out and NAME.JOBID.err beside it. `sbatch --parsable`
// submits it, and its answer is the job ID. A refused submission returns
// an error carrying sbatch's own words ("invalid partition specified").
//
// # Watching
//
// Status asks `squeue --states=all` about all the IDs at once: it is
// slurmctld's own view, in which a job whose processes are still being
// killed is COMPLETING, not yet ended. squeue forgets ended jobs after
// the cluster's MinJobAge (300 s by default), so the IDs it no longer
// knows are asked of `sacct`, which keeps them for good where the cluster
// has accounting (slurmdbd). Once sacct says accounting is disabled it is
// not asked again. An ID neither knows is [provider.JobMissing].
// [Config.StatusCommand] can turn sacct off.
//
// Slurm's states map onto [provider.JobState] as [MapState] documents.
// Walltime is always [provider.JobTimeout]: Slurm's TIMEOUT, and also a
// job that exited 0 after running to its time limit, because managers
// leave on their own when the block's walltime is reached, which Slurm
// records as COMPLETED when they beat its own kill.
//
// # Cancelling
//
// Cancel is one `scancel` for all the IDs; Slurm ignores IDs of ended or
// unknown jobs, so cancelling is idempotent.
//
// Every command runs through a [provider.Runner] with a timeout, so unit
// tests answer with a fake in Slurm's exact output formats.
package slurm
