package service

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

func (s *Service) handleGetTask(w http.ResponseWriter, r *http.Request, who Identity) error {
	id, err := parseTaskID("task id", r.PathValue("id"))
	if err != nil {
		return err
	}
	ts, err := s.store.Tasks(r.Context(), who.ID, []funcx.TaskID{id})
	if err != nil {
		return fmt.Errorf("read task %s: %w", id, err)
	}
	if len(ts) == 0 {
		return notFound("task %s not found", id)
	}
	writeJSON(w, http.StatusOK, taskStatus(&ts[0]))
	return nil
}

// handleTaskStatus answers for many tasks at once, in request order;
// unknown IDs, and other identities' tasks, are absent.
func (s *Service) handleTaskStatus(w http.ResponseWriter, r *http.Request, who Identity) error {
	var req api.TaskStatusRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.TaskIDs) > s.cfg.MaxStatusIDs {
		return badRequest("%d task_ids exceed the limit of %d per request: split them", len(req.TaskIDs), s.cfg.MaxStatusIDs)
	}
	ids := make([]funcx.TaskID, 0, len(req.TaskIDs))
	seen := make(map[funcx.TaskID]bool, len(req.TaskIDs))
	for i, raw := range req.TaskIDs {
		id, err := parseTaskID(fmt.Sprintf("task_ids[%d]", i), raw)
		if err != nil {
			return err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	ts, err := s.store.Tasks(r.Context(), who.ID, ids)
	if err != nil {
		return fmt.Errorf("read %d tasks: %w", len(ids), err)
	}
	byID := make(map[funcx.TaskID]*TaskRecord, len(ts))
	for i := range ts {
		byID[ts[i].ID] = &ts[i]
	}
	out := api.TaskStatusList{Tasks: make([]api.TaskStatus, 0, len(ts))}
	for _, id := range ids {
		if t, ok := byID[id]; ok {
			out.Tasks = append(out.Tasks, taskStatus(t))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func taskStatus(t *TaskRecord) api.TaskStatus {
	st := api.TaskStatus{TaskID: t.ID.String(), EndpointID: t.EndpointID, FunctionID: t.FunctionID, State: t.State.String()}
	if t.Result != nil {
		res := taskResult(t.Result)
		st.Result = &res
	}
	return st
}

// taskResult is the API form of a stored result.
func taskResult(rec *ResultRecord) api.TaskResult {
	r := &rec.Result
	out := api.TaskResult{
		TaskID:     r.TaskID.String(),
		EndpointID: rec.EndpointID,
		Seq:        rec.Seq,
		State:      r.State.String(),
		Output:     jsonOutput(r.Output),
		Stdout:     r.Stdout,
		Stderr:     r.Stderr,
		Truncated:  r.Truncated,
		ExitCode:   r.ExitCode,
		Attempt:    r.Attempt,
		Manager:    r.Manager,
		Worker:     r.Worker,
		Times: api.Times{
			Submitted:  utc(rec.Submitted),
			Received:   utc(r.Times.Received),
			Dispatched: utc(r.Times.Dispatched),
			Started:    utc(r.Times.Started),
			Finished:   utc(r.Times.Finished),
			Stored:     utc(rec.Stored),
		},
	}
	if r.Error != nil {
		out.Error = &api.TaskError{Kind: r.Error.Kind.String(), Message: r.Error.Message, Stack: r.Error.Stack}
	}
	return out
}

// jsonOutput passes a Go function's JSON output through as is. Output that
// is not JSON (a misbehaving endpoint's) would make the whole response
// unencodable, so it goes out as a JSON string instead.
func jsonOutput(b []byte) json.RawMessage {
	if len(b) == 0 || json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b)) // a string always encodes
	return s
}

// utc shows times in UTC in the API, keeping the zero time zero (so that
// omitzero drops it).
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
