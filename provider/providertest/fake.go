package providertest

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// FakeConfig configures a Fake. The zero value gives a fake that moves
// jobs by itself.
type FakeConfig struct {
	// Manual keeps jobs in the state they are in until SetState moves
	// them: submitted jobs stay pending. Defaults to false: jobs move by
	// themselves on Status, like a very fast scheduler (see Fake).
	Manual bool
	// Clock is the time used for walltimes. Defaults to time.Now.
	Clock func() time.Time
}

// Fake is an in-memory provider.Provider for tests. It is safe for
// concurrent use.
//
// Unless FakeConfig.Manual is set, each Status call moves a job one step,
// like a scheduler that starts everything at once: a pending job starts
// running; a running job whose command ends in "exit N" then ends
// (completed for 0, failed with exit code N otherwise); a running job
// past its walltime times out; anything else runs until cancelled. This
// makes the conformance suite's default commands behave as on a real
// shell.
type Fake struct {
	cfg FakeConfig

	mu          sync.Mutex
	jobs        map[provider.JobID]*fakeJob
	order       []provider.JobID
	seq         int
	submitErr   error
	submitFails int // remaining submits that fail; < 0: all
	statusErr   error
	cancelErr   error
	calls       FakeCalls
}

type fakeJob struct {
	job       provider.Job
	status    provider.JobStatus
	startedAt time.Time
	cancelled bool
}

// FakeCalls counts the calls a Fake received, failed ones included.
type FakeCalls struct {
	Submit, Status, Cancel int
}

// FakeJob is a Fake's record of one submitted job.
type FakeJob struct {
	ID  provider.JobID
	Job provider.Job
	// State is the job's current state.
	State provider.JobState
	// Cancelled reports whether Cancel was called on it while it ran.
	Cancelled bool
}

var _ provider.Provider = (*Fake)(nil)

// NewFake returns an empty Fake.
func NewFake(cfg FakeConfig) *Fake {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Fake{cfg: cfg, jobs: make(map[provider.JobID]*fakeJob)}
}

// Submit records the job as pending, unless a submit error is set.
func (f *Fake) Submit(ctx context.Context, j provider.Job) (provider.JobID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.Submit++
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("submit fake block: %w", err)
	}
	j = j.WithDefaults()
	if err := j.Validate(); err != nil {
		return "", fmt.Errorf("submit fake block: %w", err)
	}
	if f.submitFails != 0 && f.submitErr != nil {
		if f.submitFails > 0 {
			f.submitFails--
		}
		return "", fmt.Errorf("submit fake block %s: %w", j.BlockID, f.submitErr)
	}
	f.seq++
	id := provider.JobID("fake-" + strconv.Itoa(f.seq))
	f.jobs[id] = &fakeJob{job: j, status: provider.JobStatus{ID: id, State: provider.JobPending}}
	f.order = append(f.order, id)
	return id, nil
}

// Status reports the jobs' states, moving each one step first unless
// the fake is manual.
func (f *Fake) Status(_ context.Context, ids []provider.JobID) ([]provider.JobStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.Status++
	if f.statusErr != nil {
		return nil, fmt.Errorf("fake job status: %w", f.statusErr)
	}
	out := make([]provider.JobStatus, len(ids))
	for i, id := range ids {
		fj := f.jobs[id]
		if fj == nil {
			out[i] = provider.JobStatus{ID: id, State: provider.JobMissing, Message: "no such fake job"}
			continue
		}
		if !f.cfg.Manual {
			f.advance(fj)
		}
		out[i] = fj.status
	}
	return out, nil
}

// exitPattern finds a command's final "exit N".
var exitPattern = regexp.MustCompile(`(?:^|[;&|\n])\s*exit\s+(\d+)\s*$`)

// advance moves a job one step. Called with mu held.
func (f *Fake) advance(fj *fakeJob) {
	now := f.cfg.Clock()
	switch fj.status.State {
	case provider.JobPending:
		fj.status.State, fj.startedAt = provider.JobRunning, now
	case provider.JobRunning:
		if m := exitPattern.FindStringSubmatch(strings.TrimSpace(fj.job.Command)); m != nil {
			code, _ := strconv.Atoi(m[1])
			fj.status.ExitCode = code
			fj.status.State = provider.JobCompleted
			if code != 0 {
				fj.status.State, fj.status.Message = provider.JobFailed, fmt.Sprintf("exit status %d", code)
			}
			return
		}
		if w := fj.job.Walltime; w > 0 && now.Sub(fj.startedAt) >= w {
			fj.status.State, fj.status.Message = provider.JobTimeout, fmt.Sprintf("walltime of %s exceeded", w)
		}
	}
}

// Cancel marks the jobs that have not ended as cancelled.
func (f *Fake) Cancel(_ context.Context, ids []provider.JobID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.Cancel++
	if f.cancelErr != nil {
		return fmt.Errorf("cancel fake jobs: %w", f.cancelErr)
	}
	for _, id := range ids {
		if fj := f.jobs[id]; fj != nil && !fj.status.State.Terminal() {
			fj.cancelled = true
			fj.status.State, fj.status.Message = provider.JobCancelled, "cancelled"
		}
	}
	return nil
}

// SetState moves a job to state with a message, as the scheduler would.
func (f *Fake) SetState(id provider.JobID, state provider.JobState, message string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fj := f.jobs[id]
	if fj == nil {
		return fmt.Errorf("set fake job state: no job %q", id)
	}
	if state == provider.JobRunning && fj.startedAt.IsZero() {
		fj.startedAt = f.cfg.Clock()
	}
	fj.status.State, fj.status.Message = state, message
	return nil
}

// FailSubmit makes the next n Submit calls fail with err (all of them if
// n < 0). FailSubmit(nil, 0) clears it.
func (f *Fake) FailSubmit(err error, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitErr, f.submitFails = err, n
}

// FailStatus makes Status fail with err until called with nil.
func (f *Fake) FailStatus(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusErr = err
}

// FailCancel makes Cancel fail with err until called with nil.
func (f *Fake) FailCancel(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelErr = err
}

// Calls returns how often each method was called.
func (f *Fake) Calls() FakeCalls {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Jobs returns every job submitted, in submission order.
func (f *Fake) Jobs() []FakeJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FakeJob, 0, len(f.order))
	for _, id := range f.order {
		fj := f.jobs[id]
		out = append(out, FakeJob{ID: id, Job: fj.job, State: fj.status.State, Cancelled: fj.cancelled})
	}
	return out
}

// Active returns the number of jobs that have not ended.
func (f *Fake) Active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, fj := range f.jobs {
		if !fj.status.State.Terminal() {
			n++
		}
	}
	return n
}
