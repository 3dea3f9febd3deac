package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service/api"
)

// handleSubmit stores a batch of tasks for one endpoint, publishes it and
// answers once the broker confirmed it; the package documentation
// (Submissions) says what resubmissions and broker failures do.
// Another identity's endpoint or function is 404, as if it did not exist.
func (s *Service) handleSubmit(w http.ResponseWriter, r *http.Request, who Identity) error {
	var req submitRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch n := len(req.Tasks); {
	case n == 0:
		return badRequest("tasks is empty")
	case n > s.cfg.MaxTasksPerSubmit:
		return badRequest("%d tasks exceed the limit of %d per submission: split the batch", n, s.cfg.MaxTasksPerSubmit)
	}
	if s.broker == nil {
		return errNoBroker
	}
	ctx := r.Context()
	ep, err := s.submitEndpoint(ctx, req.EndpointID, who)
	if err != nil {
		return err
	}
	tasks, recs, assigned, err := s.resolveTasks(ctx, &req, ep, who)
	if err != nil {
		return err
	}
	sub, err := s.store.AddTasks(ctx, recs)
	var conflict *TaskConflictError
	if errors.As(err, &conflict) {
		return s.taskIDClash(who, tasks, conflict.ID)
	}
	// The endpoint went after submitEndpoint looked (it may have answered
	// from memory): nothing was stored.
	if errors.Is(err, ErrDeleted) {
		s.seen.endpoints.forget(ep.ID)
		return endpointDeleted(ep.ID)
	}
	if errors.Is(err, ErrNotFound) {
		s.seen.endpoints.forget(ep.ID)
		return notFound("endpoint %s not found", ep.ID)
	}
	if err != nil {
		return fmt.Errorf("store tasks: %w", err)
	}

	publish := make([]funcx.Task, 0, len(tasks))
	var created, fresh []funcx.TaskID // stored now; of those, with a service-assigned ID
	for i, a := range sub.Tasks {
		if !a.Existing {
			created = append(created, tasks[i].ID)
			if assigned[i] {
				fresh = append(fresh, tasks[i].ID)
			}
		}
		if a.Publish {
			publish = append(publish, tasks[i])
		}
	}
	if len(publish) > 0 {
		if err := s.publish(ctx, ep.ID, sub.ID, publish, created, fresh); err != nil {
			return err
		}
	}
	s.metrics.submitted.Add(float64(len(created)))

	out := api.SubmitResponse{TaskIDs: make([]string, len(tasks))}
	for i := range tasks {
		out.TaskIDs[i] = tasks[i].ID.String()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// taskIDClash answers a submission that reuses a stored task ID with
// another endpoint or function, or that another identity used: the same
// status and words in every case, so that the answer tells nobody whose
// ID it was, or that another identity has a task at all.
func (s *Service) taskIDClash(who Identity, tasks []funcx.Task, id funcx.TaskID) error {
	i := slices.IndexFunc(tasks, func(t funcx.Task) bool { return t.ID == id })
	s.log.Info("submission reuses a task ID", "identity", who.ID, "task", id)
	return newAPIError(http.StatusConflict, "conflict",
		"tasks[%d].task_id %s is already in use: submit this task with a new task_id, or with none and the service assigns one", i, id)
}

// publish sends the tasks to the endpoint as one confirmed batch and
// records that they are queued. On failure it deletes the fresh tasks
// (see the package documentation) and answers 503; a task too large for any broker
// message cannot succeed on retry, so then every task created by this
// submission is deleted and the answer is 413.
func (s *Service) publish(ctx context.Context, endpointID string, submission int64, tasks []funcx.Task, created, fresh []funcx.TaskID) error {
	// A client that hangs up must not cut a publish in half: the broker's
	// confirm is what makes the outcome known.
	ctx = context.WithoutCancel(ctx)
	pctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	err := s.broker.PublishTasks(pctx, endpointID, tasks)
	cancel()
	if err != nil {
		s.metrics.publishFailures.Inc()
		s.log.Warn("publish failed", "endpoint", endpointID, "tasks", len(tasks), "err", err)
		tooBig := errors.Is(err, broker.ErrTooLarge)
		if tooBig {
			fresh = created
		}
		if len(fresh) > 0 {
			if derr := s.store.DeleteUnpublished(ctx, submission, fresh); derr != nil {
				// The sweeper fails them after PublishRetryWindow.
				s.log.Error("could not delete unpublished tasks", "tasks", len(fresh), "err", derr)
			}
		}
		if tooBig {
			return newAPIError(http.StatusRequestEntityTooLarge, "too_large", "a task is too large for the broker: %v", err)
		}
		return unavailable("the broker did not take the tasks (%v): submit again; tasks with a task_id of yours are kept for %s and queued by a submission with the same IDs",
			err, s.cfg.PublishRetryWindow)
	}
	if err := s.store.MarkPublished(ctx, submission); err != nil {
		// The tasks are queued but look unpublished: a resubmission
		// publishes them again (at least once is the contract), and
		// otherwise the sweeper would fail them, so tell the client.
		return fmt.Errorf("mark %d tasks published: %w", len(tasks), err)
	}
	return nil
}

// resolveTasks validates the submitted tasks and builds them from their
// functions. assigned[i] reports a service-assigned task ID.
func (s *Service) resolveTasks(ctx context.Context, req *submitRequest, ep Endpoint, who Identity) (tasks []funcx.Task, recs []TaskRecord, assigned []bool, err error) {
	n := len(req.Tasks)
	tasks, recs, assigned = make([]funcx.Task, n), make([]TaskRecord, n), make([]bool, n)
	fns := make(map[string]*FunctionRecord)
	seen := make(map[funcx.TaskID]int, n)
	now := s.now()
	for i := range req.Tasks {
		ts := &req.Tasks[i]
		fn, ok := fns[ts.FunctionID]
		if !ok {
			if fn, err = s.ownFunction(ctx, fmt.Sprintf("tasks[%d].function_id", i), ts.FunctionID, who); err != nil {
				return nil, nil, nil, err
			}
			fns[ts.FunctionID] = fn
		}
		id := newTaskID()
		if ts.TaskID != "" {
			if id, err = parseTaskID(fmt.Sprintf("tasks[%d].task_id", i), ts.TaskID); err != nil {
				return nil, nil, nil, err
			}
		} else {
			assigned[i] = true
		}
		if j, dup := seen[id]; dup {
			return nil, nil, nil, badRequest("tasks[%d].task_id %s repeats tasks[%d].task_id", i, id, j)
		}
		seen[id] = i
		if fn.Function.Kind == funcx.KindPython {
			if err := funcx.CheckPythonArgs(ts.Args); err != nil {
				return nil, nil, nil, badRequest("tasks[%d].args: %v", i, err)
			}
		}
		tasks[i] = funcx.Task{ID: id, Function: fn.Function, Args: ts.Args, Stdin: ts.Stdin, Container: fn.ContainerImage}
		recs[i] = TaskRecord{ID: id, Owner: who.ID, EndpointID: ep.ID, FunctionID: fn.ID, State: funcx.StateWaitingForEndpoint, Submitted: now}
	}
	return tasks, recs, assigned, nil
}

// ownFunction returns the caller's function with the ID given in field;
// another identity's is 404, as if it did not exist.
func (s *Service) ownFunction(ctx context.Context, field, rawID string, who Identity) (*FunctionRecord, error) {
	id, err := parseID(field, rawID)
	if err != nil {
		return nil, err
	}
	f, ok := s.seen.functions.get(id, time.Time{})
	if !ok {
		if f, err = s.store.Function(ctx, id); err == nil {
			s.seen.functions.put(id, f, time.Time{})
		}
	}
	if errors.Is(err, ErrNotFound) || (err == nil && f.Owner != who.ID) {
		return nil, notFound("%s: function %s not found", field, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read function %s: %w", id, err)
	}
	return &f, nil
}

// submitEndpoint is ownEndpoint for submissions, which only need the
// endpoint's ID and owner: it may answer from what it remembers.
func (s *Service) submitEndpoint(ctx context.Context, rawID string, who Identity) (Endpoint, error) {
	id, err := parseID("endpoint id", rawID)
	if err != nil {
		return Endpoint{}, err
	}
	now := s.now()
	if ep, ok := s.seen.endpoints.get(id, now); ok && ep.Owner == who.ID {
		return ep, nil
	}
	ep, err := s.ownEndpoint(ctx, id, who)
	if err == nil {
		s.seen.endpoints.put(id, ep, now)
	}
	return ep, err
}
