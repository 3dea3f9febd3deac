package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"slices"

	"github.com/funcx-go/funcx/service/api"
)

// submitBudget is the estimated body size at which a submission is split.
// It stays well below api.MaxRequestBytes because the estimate does not
// see JSON escapes in arguments.
const submitBudget = api.MaxRequestBytes / 2

// Submit submits tasks to an endpoint and returns their IDs in order. A
// task without a TaskID gets a fresh UUID first, so that a retried request
// (after a network error) cannot create a task twice. The tasks go in as
// few requests as the service's limits allow (api.MaxTasksPerSubmit tasks
// and api.MaxRequestBytes each). If one of several requests fails, the
// IDs returned are those of the tasks accepted before it.
func (c *Client) Submit(ctx context.Context, endpointID string, tasks []api.TaskSubmit) ([]string, error) {
	tasks = withTaskIDs(tasks)
	ids := make([]string, 0, len(tasks))
	for chunk := range chunkTasks(tasks, api.MaxTasksPerSubmit) {
		got, err := c.postTasks(ctx, endpointID, chunk)
		if err != nil {
			return ids, fmt.Errorf("submit tasks %d to %d of %d: %w", len(ids)+1, len(ids)+len(chunk), len(tasks), err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// postTasks sends one POST /v1/tasks and checks that the service accepted
// every task.
func (c *Client) postTasks(ctx context.Context, endpointID string, tasks []api.TaskSubmit) ([]string, error) {
	var resp api.SubmitResponse
	k := call{method: http.MethodPost, path: api.PathTasks, in: api.SubmitRequest{EndpointID: endpointID, Tasks: tasks}, out: &resp, idempotent: true}
	if err := c.do(ctx, k); err != nil {
		return nil, fmt.Errorf("submit to endpoint %s: %w", endpointID, err)
	}
	if len(resp.TaskIDs) != len(tasks) {
		return nil, fmt.Errorf("submit to endpoint %s: the service answered %d task IDs for %d tasks", endpointID, len(resp.TaskIDs), len(tasks))
	}
	return resp.TaskIDs, nil
}

// withTaskIDs returns tasks, copied if any lacks a TaskID, with a fresh
// UUID for each that does. The caller's slice is never written.
func withTaskIDs(tasks []api.TaskSubmit) []api.TaskSubmit {
	copied := false
	for i := range tasks {
		if tasks[i].TaskID != "" {
			continue
		}
		if !copied {
			tasks, copied = slices.Clone(tasks), true
		}
		tasks[i].TaskID = newTaskID().String()
	}
	return tasks
}

// chunkTasks yields consecutive runs of tasks of at most maxN tasks and
// about submitBudget bytes; a task larger than that goes alone, and the
// service's 413 says so.
func chunkTasks(tasks []api.TaskSubmit, maxN int) iter.Seq[[]api.TaskSubmit] {
	return func(yield func([]api.TaskSubmit) bool) {
		start, size := 0, 0
		for i := range tasks {
			n := estimateSize(&tasks[i])
			if i > start && (i-start == maxN || size+n > submitBudget) {
				if !yield(tasks[start:i]) {
					return
				}
				start, size = i, 0
			}
			size += n
		}
		if start < len(tasks) {
			yield(tasks[start:])
		}
	}
}

// estimateSize guesses the encoded size of one task: its fields, stdin in
// base64 and the JSON punctuation around them.
func estimateSize(t *api.TaskSubmit) int {
	return len(t.TaskID) + len(t.FunctionID) + len(t.Args) + (len(t.Stdin)+2)/3*4 + 64
}

// TaskStatus returns the status of tasks, with their results once they
// have finished. Unknown IDs (or other identities' tasks) are absent from
// the answer. Many IDs are asked for in as few requests as
// api.MaxStatusIDs allows.
func (c *Client) TaskStatus(ctx context.Context, ids ...string) ([]api.TaskStatus, error) {
	out := make([]api.TaskStatus, 0, len(ids))
	for chunk := range slices.Chunk(ids, api.MaxStatusIDs) {
		var list api.TaskStatusList
		k := call{method: http.MethodPost, path: api.PathTaskStatus, in: api.TaskStatusRequest{TaskIDs: chunk}, out: &list, idempotent: true}
		if err := c.do(ctx, k); err != nil {
			return nil, fmt.Errorf("get the status of %d tasks: %w", len(chunk), err)
		}
		out = append(out, list.Tasks...)
	}
	return out, nil
}
