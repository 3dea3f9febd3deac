package clienttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	var req api.SubmitRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Tasks) > api.MaxTasksPerSubmit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("%d tasks exceed %d", len(req.Tasks), api.MaxTasksPerSubmit))
		return
	}
	s.mu.Lock()
	ep := s.endpoints[req.EndpointID]
	s.mu.Unlock()
	switch {
	case ep == nil:
		writeError(w, http.StatusNotFound, "not_found", "endpoint "+req.EndpointID+" is unknown")
		return
	case ep.Owner != s.cfg.Identity.ID:
		writeError(w, http.StatusForbidden, "forbidden", "endpoint "+req.EndpointID+" belongs to another identity")
		return
	}
	ids := make([]string, len(req.Tasks))
	type fresh struct {
		fn   api.Function
		task api.TaskSubmit
	}
	var run []fresh
	s.mu.Lock()
	for i, t := range req.Tasks {
		fn := s.functions[t.FunctionID]
		if fn == nil {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("task %d: function %s is unknown", i, t.FunctionID))
			return
		}
		if t.TaskID == "" {
			t.TaskID = funcx.NewTaskID().String()
		}
		ids[i] = t.TaskID
		if _, dup := s.tasks[t.TaskID]; dup {
			continue // a retried submission: the task exists already
		}
		s.tasks[t.TaskID] = &api.TaskStatus{TaskID: t.TaskID, EndpointID: req.EndpointID, FunctionID: t.FunctionID, State: funcx.StateWaitingForEndpoint.String()}
		s.order = append(s.order, t)
		run = append(run, fresh{*fn, t})
	}
	s.mu.Unlock()
	if s.cfg.Run != nil {
		results := make([]api.TaskResult, 0, len(run))
		for _, f := range run {
			if res := s.cfg.Run(f.fn, f.task); res != nil {
				res.TaskID = f.task.TaskID
				results = append(results, *res)
			}
		}
		s.Complete(results...)
	}
	writeJSON(w, http.StatusOK, api.SubmitResponse{TaskIDs: ids})
}

// Tasks returns every task stored, in submission order; a retried
// submission does not store a task twice.
func (s *Server) Tasks() []api.TaskSubmit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.TaskSubmit(nil), s.order...)
}

// Complete stores results as if endpoints had sent them: each gets the
// next Seq, its task's state becomes the result's, and waiting long polls
// return. Unlike the service it stores duplicates and results of unknown
// tasks, so that tests can check a client ignores them. State defaults to
// "success", or "failed" when Error is set.
func (s *Server) Complete(results ...api.TaskResult) {
	if len(results) == 0 {
		return
	}
	now := time.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		if r.State == "" {
			r.State = funcx.StateSuccess.String()
			if r.Error != nil {
				r.State = funcx.StateFailed.String()
			}
		}
		r.Seq = int64(len(s.results) + 1)
		r.Times.Stored = now
		if t := s.tasks[r.TaskID]; t != nil {
			r.EndpointID = t.EndpointID
			t.State = r.State
			t.Result = &r
		}
		s.results = append(s.results, r)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) taskStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.tasks[r.PathValue("id")]
	var st api.TaskStatus
	if t != nil {
		st = *t
	}
	s.mu.Unlock()
	if t == nil {
		writeError(w, http.StatusNotFound, "not_found", "task "+r.PathValue("id")+" is unknown")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) taskStatusMany(w http.ResponseWriter, r *http.Request) {
	var req api.TaskStatusRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.TaskIDs) > api.MaxStatusIDs {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("%d IDs exceed %d", len(req.TaskIDs), api.MaxStatusIDs))
		return
	}
	list := api.TaskStatusList{Tasks: []api.TaskStatus{}}
	s.mu.Lock()
	for _, id := range req.TaskIDs {
		if t := s.tasks[id]; t != nil {
			list.Tasks = append(list.Tasks, *t)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

// resultsPage answers GET /v1/results: one page, or with stream=1 (unless
// Config.NoResultsStream) a stream of pages, one per line, until the
// wait has passed, as the service does.
func (s *Server) resultsPage(w http.ResponseWriter, r *http.Request) {
	after, err := queryInt(r, "after", 0)
	if err == nil && after < 0 {
		err = fmt.Errorf("after %d is negative", after)
	}
	limit, err2 := queryInt(r, "limit", api.MaxResultsPage)
	var wait time.Duration
	var err3, err4 error
	if v := r.URL.Query().Get("wait"); v != "" {
		wait, err3 = time.ParseDuration(v)
	}
	stream := false
	if v := r.URL.Query().Get("stream"); v != "" && !s.cfg.NoResultsStream {
		stream, err4 = strconv.ParseBool(v)
	}
	for _, e := range []error{err, err2, err3, err4} {
		if e != nil {
			writeError(w, http.StatusBadRequest, "bad_request", e.Error())
			return
		}
	}
	limit = min(max(limit, 1), api.MaxResultsPage)
	timer := time.NewTimer(min(wait, api.MaxWait))
	defer timer.Stop()
	rc := http.NewResponseController(w)
	if stream {
		w.Header().Set("Content-Type", api.ContentTypeResultsStream)
		w.WriteHeader(http.StatusOK)
		if rc.Flush() != nil {
			return
		}
	}
	for {
		s.mu.Lock()
		n := int64(len(s.results))
		var page []api.TaskResult
		if after < n {
			page = append(page, s.results[after:min(n, after+limit)]...)
		}
		changed := s.changed
		s.mu.Unlock()
		next := after
		if len(page) > 0 {
			next = page[len(page)-1].Seq
		}
		switch {
		case stream && len(page) > 0:
			data, err := json.Marshal(api.ResultsPage{Results: page, Next: next})
			if err != nil {
				panic(err) // plain structs
			}
			if _, err := w.Write(append(data, '\n')); err != nil || rc.Flush() != nil {
				return
			}
			after = next
			if wait <= 0 {
				return
			}
			continue
		case stream && wait <= 0:
			return
		case !stream && (len(page) > 0 || wait <= 0):
			writeJSON(w, http.StatusOK, api.ResultsPage{Results: page, Next: next})
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			wait = 0
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// Echo is a Run function for Config.Run: a task's JSON args come back as
// its output, and as stdout for a shell function.
func Echo(fn api.Function, t api.TaskSubmit) *api.TaskResult {
	res := &api.TaskResult{Output: json.RawMessage(t.Args)}
	if fn.Kind == "shell" {
		res.Output, res.Stdout = nil, t.Args
	}
	return res
}
