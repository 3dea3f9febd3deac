package providertest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/funcx-go/funcx/provider"
	"github.com/funcx-go/funcx/provider/providertest"
)

func TestFakeConformance(t *testing.T) {
	t.Parallel()
	providertest.RunConformance(t, func(*testing.T) provider.Provider {
		return providertest.NewFake(providertest.FakeConfig{})
	}, providertest.Options{
		Walltime:     10 * time.Millisecond,
		PollInterval: time.Millisecond,
	})
}

func TestFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	job := provider.Job{BlockID: "0", Command: "sleep 60"}

	status := func(t *testing.T, f *providertest.Fake, id provider.JobID) provider.JobStatus {
		t.Helper()
		sts, err := f.Status(ctx, []provider.JobID{id})
		if err != nil {
			t.Fatal(err)
		}
		return sts[0]
	}

	t.Run("manual jobs move only by SetState", func(t *testing.T) {
		t.Parallel()
		f := providertest.NewFake(providertest.FakeConfig{Manual: true})
		id, _ := f.Submit(ctx, job)
		for range 3 {
			if st := status(t, f, id); st.State != provider.JobPending {
				t.Fatalf("manual job is %s", st.State)
			}
		}
		if err := f.SetState(id, provider.JobHeld, "held by admin"); err != nil {
			t.Fatal(err)
		}
		if st := status(t, f, id); st.State != provider.JobHeld || st.Message != "held by admin" {
			t.Errorf("after SetState: %+v", st)
		}
		if err := f.SetState("nope", provider.JobRunning, ""); err == nil {
			t.Error("SetState of an unknown job succeeded")
		}
	})

	t.Run("fail submit n times", func(t *testing.T) {
		t.Parallel()
		f := providertest.NewFake(providertest.FakeConfig{})
		boom := errors.New("boom")
		f.FailSubmit(boom, 2)
		for i := range 2 {
			if _, err := f.Submit(ctx, job); !errors.Is(err, boom) {
				t.Errorf("submit %d: %v, want boom", i, err)
			}
		}
		if _, err := f.Submit(ctx, job); err != nil {
			t.Errorf("third submit: %v", err)
		}
		if c := f.Calls(); c.Submit != 3 {
			t.Errorf("calls %+v", c)
		}
	})

	t.Run("fail status and cancel", func(t *testing.T) {
		t.Parallel()
		f := providertest.NewFake(providertest.FakeConfig{})
		id, _ := f.Submit(ctx, job)
		boom := errors.New("boom")
		f.FailStatus(boom)
		f.FailCancel(boom)
		if _, err := f.Status(ctx, []provider.JobID{id}); !errors.Is(err, boom) {
			t.Errorf("Status = %v", err)
		}
		if err := f.Cancel(ctx, []provider.JobID{id}); !errors.Is(err, boom) {
			t.Errorf("Cancel = %v", err)
		}
		f.FailStatus(nil)
		f.FailCancel(nil)
		if err := f.Cancel(ctx, []provider.JobID{id}); err != nil {
			t.Errorf("Cancel = %v", err)
		}
		jobs := f.Jobs()
		if len(jobs) != 1 || !jobs[0].Cancelled || jobs[0].State != provider.JobCancelled || jobs[0].Job.Name != "funcx-0" {
			t.Errorf("Jobs() = %+v", jobs)
		}
		if c := f.Calls(); c != (providertest.FakeCalls{Submit: 1, Status: 1, Cancel: 2}) {
			t.Errorf("Calls() = %+v", c)
		}
		if f.Active() != 0 {
			t.Errorf("Active() = %d", f.Active())
		}
	})

	t.Run("walltime follows the clock", func(t *testing.T) {
		t.Parallel()
		now := time.Unix(0, 0)
		f := providertest.NewFake(providertest.FakeConfig{Clock: func() time.Time { return now }})
		j := job
		j.Walltime = time.Minute
		id, _ := f.Submit(ctx, j)
		if st := status(t, f, id); st.State != provider.JobRunning {
			t.Fatalf("state %s", st.State)
		}
		if st := status(t, f, id); st.State != provider.JobRunning {
			t.Fatalf("state before walltime %s", st.State)
		}
		now = now.Add(time.Minute)
		if st := status(t, f, id); st.State != provider.JobTimeout {
			t.Errorf("state after walltime %s", st.State)
		}
	})
}

func TestFakeRunner(t *testing.T) {
	t.Parallel()
	t.Run("default answers success", func(t *testing.T) {
		t.Parallel()
		var r providertest.FakeRunner
		res, err := r.Run(context.Background(), "scancel", []string{"12"}, nil)
		if err != nil || res.ExitCode != 0 {
			t.Errorf("Run = %+v, %v", res, err)
		}
	})
	t.Run("handler and calls", func(t *testing.T) {
		t.Parallel()
		r := providertest.FakeRunner{Handler: func(_ context.Context, c providertest.RunCall) (provider.RunResult, error) {
			if c.Name == "sbatch" {
				return provider.RunResult{Stdout: []byte("Submitted batch job 42\n")}, nil
			}
			return provider.RunResult{ExitCode: 1}, errors.New("unexpected")
		}}
		args := []string{"--parsable"}
		res, err := r.Run(context.Background(), "sbatch", args, []byte("#!/bin/bash\n"))
		if err != nil || string(res.Stdout) != "Submitted batch job 42\n" {
			t.Errorf("Run = %+v, %v", res, err)
		}
		args[0] = "changed"
		if _, err := r.Run(context.Background(), "squeue", nil, nil); err == nil {
			t.Error("handler error lost")
		}
		calls := r.Calls()
		if len(calls) != 2 || calls[0].Name != "sbatch" || calls[0].Args[0] != "--parsable" || string(calls[0].Stdin) != "#!/bin/bash\n" || calls[1].Name != "squeue" {
			t.Errorf("Calls() = %+v", calls)
		}
	})
}
