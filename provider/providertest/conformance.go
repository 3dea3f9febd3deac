package providertest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// Defaults applied to Options.
const (
	// DefaultLongCommand stays up until cancelled.
	DefaultLongCommand = "sleep 3600"
	// DefaultSuccessCommand exits 0.
	DefaultSuccessCommand = "exit 0"
	// DefaultFailCommand writes FailureMarker to stderr and exits
	// DefaultFailExitCode.
	DefaultFailCommand  = "echo " + FailureMarker + " >&2; exit 3"
	DefaultFailExitCode = 3
	// DefaultUnknownID is a job ID no provider has issued.
	DefaultUnknownID provider.JobID = "providertest-no-such-job"
	// DefaultTimeout bounds each wait for a state; generous, because it
	// is a deadline for polling, never a measurement.
	DefaultTimeout = 60 * time.Second
	// DefaultPollInterval is the time between Status polls.
	DefaultPollInterval = 50 * time.Millisecond
)

// FailureMarker is what DefaultFailCommand writes to stderr, for
// providers that put stderr into a failed job's message.
const FailureMarker = "providertest-failure"

// Options adapts the conformance suite to a provider.
type Options struct {
	// Job returns the base job of a test; the suite sets BlockID and
	// Command (and Walltime in the walltime test). Defaults to a job
	// with ScriptDir t.TempDir().
	Job func(t *testing.T) provider.Job
	// LongCommand runs until cancelled. Defaults to DefaultLongCommand.
	LongCommand string
	// SuccessCommand exits 0. Defaults to DefaultSuccessCommand.
	SuccessCommand string
	// FailCommand exits FailExitCode. Defaults to DefaultFailCommand.
	FailCommand string
	// FailExitCode is FailCommand's exit status. Defaults to
	// DefaultFailExitCode.
	FailExitCode int
	// SkipExitCode skips the exit-code checks, for providers whose
	// scheduler does not report exit codes.
	SkipExitCode bool
	// StderrInMessage requires a failed job's Message to contain what
	// FailCommand wrote to stderr (FailureMarker with the default).
	StderrInMessage bool
	// CancelledStates are the states a cancelled job may end in.
	// Defaults to JobCancelled only.
	CancelledStates []provider.JobState
	// UnknownID is a well-formed job ID the provider never issued.
	// Defaults to DefaultUnknownID.
	UnknownID provider.JobID
	// Walltime, if positive, runs the walltime test: a long job with this
	// walltime must end as JobTimeout. Defaults to 0: skipped, because
	// batch schedulers' walltimes are minutes.
	Walltime time.Duration
	// CheckGone, if set, is polled after a job has ended until it returns
	// nil: it reports anything of the job still alive (a process, a pod).
	CheckGone func(p provider.Provider, id provider.JobID) error
	// Timeout bounds each wait for a state. Defaults to DefaultTimeout.
	Timeout time.Duration
	// PollInterval is the time between polls. Defaults to
	// DefaultPollInterval.
	PollInterval time.Duration
}

// WithDefaults returns a copy of o with unset fields defaulted.
func (o Options) WithDefaults() Options {
	if o.Job == nil {
		o.Job = func(t *testing.T) provider.Job { return provider.Job{ScriptDir: t.TempDir()} }
	}
	o.LongCommand = cmp.Or(o.LongCommand, DefaultLongCommand)
	o.SuccessCommand = cmp.Or(o.SuccessCommand, DefaultSuccessCommand)
	o.FailCommand = cmp.Or(o.FailCommand, DefaultFailCommand)
	o.FailExitCode = cmp.Or(o.FailExitCode, DefaultFailExitCode)
	if len(o.CancelledStates) == 0 {
		o.CancelledStates = []provider.JobState{provider.JobCancelled}
	}
	o.UnknownID = cmp.Or(o.UnknownID, DefaultUnknownID)
	o.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	o.PollInterval = cmp.Or(o.PollInterval, DefaultPollInterval)
	return o
}

// RunConformance runs the behaviour every Provider must have. newProvider
// returns a fresh provider for each subtest and registers its own
// cleanup (Shutdown); the suite cancels the jobs it submitted before
// that cleanup runs.
func RunConformance(t *testing.T, newProvider func(t *testing.T) provider.Provider, opts Options) {
	t.Helper()
	opts = opts.WithDefaults()
	setup := func(t *testing.T) *suite {
		t.Helper()
		t.Parallel()
		s := &suite{t: t, p: newProvider(t), opts: opts}
		t.Cleanup(s.cancelAll)
		return s
	}

	t.Run("CancelRunning", func(t *testing.T) {
		s := setup(t)
		id := s.submit(opts.LongCommand)
		first := s.status(id)
		if first.State.Terminal() {
			t.Fatalf("a long job is %s right after submission (%q)", first.State, first.Message)
		}
		s.waitFor(id, "running", func(st provider.JobStatus) bool { return st.State == provider.JobRunning })
		s.cancel(id)
		st := s.waitTerminal(id)
		if !slices.Contains(opts.CancelledStates, st.State) {
			t.Errorf("cancelled job ended %s (%q), want one of %v", st.State, st.Message, opts.CancelledStates)
		}
		s.checkGone(id)
	})

	t.Run("CancelIsIdempotent", func(t *testing.T) {
		s := setup(t)
		id := s.submit(opts.LongCommand)
		s.cancel(id)
		s.cancel(id)
		s.waitTerminal(id)
		s.cancel(id)
		s.cancel(opts.UnknownID)
		s.cancel()
		if st := s.status(id); !st.State.Terminal() {
			t.Errorf("job is %s after a repeated cancel", st.State)
		}
	})

	t.Run("StatusOfUnknownID", func(t *testing.T) {
		s := setup(t)
		st := s.status(opts.UnknownID)
		if st.State != provider.JobMissing && st.State != provider.JobUnknown {
			t.Errorf("unknown ID is %s, want missing or unknown", st.State)
		}
		got, err := s.p.Status(context.Background(), nil)
		if err != nil || len(got) != 0 {
			t.Errorf("Status(nil) = %v, %v; want nothing, nil", got, err)
		}
	})

	t.Run("Completed", func(t *testing.T) {
		s := setup(t)
		id := s.submit(opts.SuccessCommand)
		st := s.waitTerminal(id)
		if st.State != provider.JobCompleted {
			t.Fatalf("job exiting 0 ended %s (%q), want completed", st.State, st.Message)
		}
		if !opts.SkipExitCode && st.ExitCode != 0 {
			t.Errorf("completed job has exit code %d", st.ExitCode)
		}
		s.checkGone(id)
	})

	t.Run("Failed", func(t *testing.T) {
		s := setup(t)
		id := s.submit(opts.FailCommand)
		st := s.waitTerminal(id)
		if st.State != provider.JobFailed {
			t.Fatalf("failing job ended %s (%q), want failed", st.State, st.Message)
		}
		if !opts.SkipExitCode && st.ExitCode != opts.FailExitCode {
			t.Errorf("failed job has exit code %d, want %d", st.ExitCode, opts.FailExitCode)
		}
		if opts.StderrInMessage && !strings.Contains(st.Message, FailureMarker) {
			t.Errorf("failed job's message %q lacks its stderr (%q)", st.Message, FailureMarker)
		}
		s.checkGone(id)
	})

	t.Run("Batch", func(t *testing.T) {
		s := setup(t)
		ids := make([]provider.JobID, 3)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i] = s.submit(opts.LongCommand) })
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if distinct := len(slices.Compact(slices.Sorted(slices.Values(ids)))); distinct != len(ids) {
			t.Fatalf("concurrent submissions returned IDs %v, want distinct", ids)
		}
		query := []provider.JobID{ids[2], opts.UnknownID, ids[0], ids[1]}
		got, err := s.p.Status(context.Background(), query)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if len(got) != len(query) {
			t.Fatalf("Status of %d IDs returned %d statuses", len(query), len(got))
		}
		for i, st := range got {
			if st.ID != query[i] {
				t.Errorf("status %d is for %q, want %q: statuses must follow the order asked", i, st.ID, query[i])
			}
		}
		s.cancel(ids...)
		for _, id := range ids {
			s.waitTerminal(id)
			s.checkGone(id)
		}
	})

	t.Run("InvalidJob", func(t *testing.T) {
		s := setup(t)
		for name, mutate := range map[string]func(*provider.Job){
			"empty command":  func(j *provider.Job) { j.Command = "" },
			"empty block ID": func(j *provider.Job) { j.BlockID = "" },
			"block ID path":  func(j *provider.Job) { j.BlockID = "../x" },
			"negative nodes": func(j *provider.Job) { j.Nodes = -1 },
		} {
			j := s.job(opts.SuccessCommand)
			mutate(&j)
			if id, err := s.p.Submit(context.Background(), j); err == nil {
				s.track(id)
				t.Errorf("%s: Submit accepted %+v", name, j)
			}
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := setup(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if id, err := s.p.Submit(ctx, s.job(opts.LongCommand)); err == nil {
			s.track(id)
			t.Errorf("Submit with a cancelled context returned %q and no error", id)
		}
	})

	if opts.Walltime > 0 {
		t.Run("Walltime", func(t *testing.T) {
			s := setup(t)
			j := s.job(opts.LongCommand)
			j.Walltime = opts.Walltime
			id := s.submitJob(j)
			st := s.waitTerminal(id)
			if st.State != provider.JobTimeout {
				t.Errorf("job past its walltime ended %s (%q), want timeout", st.State, st.Message)
			}
			s.checkGone(id)
		})
	}
}

// suite is one subtest's provider and the jobs it submitted.
type suite struct {
	t    *testing.T
	p    provider.Provider
	opts Options

	mu  sync.Mutex
	ids []provider.JobID
	seq int
}

func (s *suite) job(command string) provider.Job {
	j := s.opts.Job(s.t)
	s.mu.Lock()
	s.seq++
	j.BlockID = fmt.Sprintf("conformance-%d", s.seq)
	s.mu.Unlock()
	j.Command = command
	return j
}

func (s *suite) submit(command string) provider.JobID {
	return s.submitJob(s.job(command))
}

func (s *suite) submitJob(j provider.Job) provider.JobID {
	s.t.Helper()
	id, err := s.p.Submit(context.Background(), j)
	if err != nil {
		s.t.Errorf("Submit(%s): %v", j.BlockID, err)
		return ""
	}
	if id == "" {
		s.t.Errorf("Submit(%s) returned an empty ID", j.BlockID)
	}
	s.track(id)
	return id
}

func (s *suite) track(id provider.JobID) {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.mu.Unlock()
}

func (s *suite) cancelAll() {
	s.mu.Lock()
	ids := slices.Clone(s.ids)
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	if err := s.p.Cancel(ctx, ids); err != nil {
		s.t.Errorf("cleanup: Cancel: %v", err)
	}
}

func (s *suite) cancel(ids ...provider.JobID) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	if err := s.p.Cancel(ctx, ids); err != nil {
		s.t.Fatalf("Cancel(%v): %v", ids, err)
	}
}

func (s *suite) status(id provider.JobID) provider.JobStatus {
	s.t.Helper()
	got, err := s.p.Status(context.Background(), []provider.JobID{id})
	if err != nil {
		s.t.Fatalf("Status(%s): %v", id, err)
	}
	if len(got) != 1 || got[0].ID != id {
		s.t.Fatalf("Status(%s) = %+v, want one status for that ID", id, got)
	}
	return got[0]
}

// waitFor polls the job's status until ok, failing the test at the
// deadline with the last status seen.
func (s *suite) waitFor(id provider.JobID, what string, ok func(provider.JobStatus) bool) provider.JobStatus {
	s.t.Helper()
	deadline := time.Now().Add(s.opts.Timeout)
	for {
		st := s.status(id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s not %s within %s: last %s (%q)", id, what, s.opts.Timeout, st.State, st.Message)
		}
		time.Sleep(s.opts.PollInterval)
	}
}

func (s *suite) waitTerminal(id provider.JobID) provider.JobStatus {
	s.t.Helper()
	return s.waitFor(id, "ended", func(st provider.JobStatus) bool { return st.State.Terminal() })
}

func (s *suite) checkGone(id provider.JobID) {
	s.t.Helper()
	if s.opts.CheckGone == nil {
		return
	}
	deadline := time.Now().Add(s.opts.Timeout)
	for {
		err := s.opts.CheckGone(s.p, id)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Errorf("job %s ended but is not gone: %v", id, err)
			return
		}
		time.Sleep(s.opts.PollInterval)
	}
}
