// Package api is the service's HTTP API: its routes and the JSON bodies
// of requests and responses, shared by the service and the Go SDK.
//
// Every route is under /v1. Requests carry "Authorization: Bearer TOKEN"
// (except POST /v1/token). Errors are an ErrorBody with a matching HTTP
// status: 400 malformed input (the message says what is wrong), 401 no,
// wrong or expired token, 403 not yours, 404 unknown (or not yours, for
// reads: existence is not disclosed), 408 the body arrived too slowly,
// 409 conflict, 413 too large, 429 too many requests without a checked
// token from one client, 503 broker unavailable or no room for the body
// now. 429 and 503 carry Retry-After.
//
// Success is 200 with the body named by the route (DELETE: 204, no body).
// Another identity's endpoint or function is 404 for reads, submissions
// and uses alike; only re-registering another identity's endpoint ID is
// 403. A results wait longer than MaxWait is shortened to it, not refused.
package api

import (
	"encoding/json"
	"time"
)

// Routes.
const (
	PathToken     = "/v1/token"     // POST TokenRequest -> TokenResponse
	PathWhoami    = "/v1/whoami"    // GET -> Identity
	PathEndpoints = "/v1/endpoints" // POST RegisterEndpointRequest -> RegisterEndpointResponse; GET -> EndpointList
	// PathEndpoint + "{id}": GET -> EndpointStatus; DELETE -> 204
	PathEndpoint  = "/v1/endpoints/"
	PathFunctions = "/v1/functions" // POST RegisterFunctionRequest -> RegisterFunctionResponse
	// PathFunction + "{id}": GET -> Function
	PathFunction = "/v1/functions/"
	PathTasks    = "/v1/tasks" // POST SubmitRequest -> SubmitResponse
	// PathTask + "{id}": GET -> TaskStatus
	PathTask        = "/v1/tasks/"
	PathTaskStatus  = "/v1/tasks:status" // POST TaskStatusRequest -> TaskStatusList
	PathResults     = "/v1/results"      // GET ?after=SEQ&wait=DURATION&limit=N[&stream=1] -> ResultsPage (stream=1: one per line, see ResultsPage)
	PathMetrics     = "/metrics"         // Prometheus text format, no auth
	PathHealth      = "/healthz"         // GET -> 200 "ok", no auth
	GrantClientCred = "client_credentials"
)

// Limits the service enforces (and the SDK respects by splitting batches).
const (
	MaxRequestBytes   = 32 << 20
	MaxTasksPerSubmit = 10000
	MaxStatusIDs      = 10000
	MaxResultsPage    = 10000
	MaxWait           = 60 * time.Second
)

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong. Code is a stable word for programs
// (bad_request, unauthorized, forbidden, not_found, timeout, conflict,
// too_large, too_many_requests, unavailable, internal); Message is for
// people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TokenRequest exchanges a client identity's ID and secret for a bearer
// token (the OAuth2 client-credentials grant). The service also accepts
// it as application/x-www-form-urlencoded.
type TokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// TokenResponse is a bearer token and its lifetime in seconds.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// Identity is who a token belongs to.
type Identity struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ClientID string `json:"client_id"`
}

// RegisterEndpointRequest registers a new endpoint, or re-registers an
// existing one (EndpointID set; only its owner may).
type RegisterEndpointRequest struct {
	EndpointID  string `json:"endpoint_id,omitempty"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Version     string `json:"version,omitempty"`
}

// RegisterEndpointResponse carries the endpoint's ID and its broker
// credentials, which reach only its own queues.
type RegisterEndpointResponse struct {
	EndpointID string            `json:"endpoint_id"`
	Broker     BrokerCredentials `json:"broker"`
}

// BrokerCredentials are an endpoint's AMQP credentials and resources.
// URL is empty for an in-process broker.
type BrokerCredentials struct {
	URL            string `json:"url"`
	Username       string `json:"username"`
	Password       string `json:"password"`
	TaskQueue      string `json:"task_queue"`
	ResultExchange string `json:"result_exchange"`
}

// EndpointStatus describes one endpoint. Status is "online" while
// heartbeats arrive (within three heartbeat periods), else "offline".
type EndpointStatus struct {
	EndpointID    string    `json:"endpoint_id"`
	Name          string    `json:"name"`
	DisplayName   string    `json:"display_name,omitempty"`
	Owner         string    `json:"owner"`
	Status        string    `json:"status"`
	RegisteredAt  time.Time `json:"registered_at"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
	Managers      int       `json:"managers"`
	Workers       int       `json:"workers"`
	Outstanding   int       `json:"outstanding"`

	// The rest is from the latest heartbeat too, each field omitted when
	// empty (and by endpoints older than it).

	// Blocks counts the endpoint's blocks (batch jobs or local process
	// groups) by state: "pending", "running", "failed", ... (ended blocks:
	// the latest few).
	Blocks map[string]int `json:"blocks,omitempty"`
	// BlockError is the last error the endpoint's scheduler returned: a
	// refused submission, a failed status poll or cancel.
	BlockError *BlockError `json:"block_error,omitempty"`
	// BlockProblems are the latest blocks (at most 10) with a message from
	// the scheduler: why one is pending, why one failed. Newest last.
	BlockProblems []BlockProblem `json:"block_problems,omitempty"`
	// Routing are the container routing figures of the connected
	// managers, when they run workers in containers.
	Routing *Routing `json:"routing,omitempty"`
	// QuarantinedRecords counts the records of the endpoint's journal
	// that were damaged and set aside, their tasks failed (see the
	// endpoint's log); not zero means the endpoint's disk lost data.
	QuarantinedRecords int `json:"quarantined_records,omitempty"`
}

// BlockError is a scheduler's error and when the endpoint got it. Image
// is the container image whose blocks it concerns under hard container
// routing, empty for the endpoint's own blocks.
type BlockError struct {
	Message string    `json:"message"`
	Time    time.Time `json:"time,omitzero"`
	Image   string    `json:"image,omitempty"`
}

// BlockProblem is one block and the scheduler's last word on it. Time is
// when it ended, or was submitted if it has not ended.
type BlockProblem struct {
	Block    string    `json:"block"`
	Image    string    `json:"image,omitempty"`
	JobID    string    `json:"job_id,omitempty"`
	State    string    `json:"state"`
	Message  string    `json:"message"`
	ExitCode int       `json:"exit_code,omitempty"`
	Time     time.Time `json:"time,omitzero"`
}

// Routing are the routing figures of an endpoint's connected managers:
// their sum and each manager's (at most 32).
type Routing struct {
	Total    RoutingFigures   `json:"total"`
	Managers []ManagerRouting `json:"managers,omitempty"`
}

// RoutingFigures count how tasks met containers: WarmHits ran in a
// container already running, ColdStarts are containers started, Switches
// containers evicted for another type, Retired idle containers stopped,
// StartFailures containers that failed before serving.
type RoutingFigures struct {
	WarmHits      int `json:"warm_hits"`
	ColdStarts    int `json:"cold_starts"`
	Switches      int `json:"switches"`
	Retired       int `json:"retired,omitempty"`
	StartFailures int `json:"start_failures,omitempty"`
}

// ManagerRouting is one manager's routing figures and its workers per
// container type.
type ManagerRouting struct {
	Manager string `json:"manager"`
	Block   string `json:"block,omitempty"`
	RoutingFigures
	Containers []ContainerWorkers `json:"containers,omitempty"`
}

// ContainerWorkers are a manager's workers of one container type
// (image/type as in a task's container, "" for workers without one).
type ContainerWorkers struct {
	Container string `json:"container"`
	Workers   int    `json:"workers"`
	Idle      int    `json:"idle"`
}

// EndpointList is the caller's endpoints.
type EndpointList struct {
	Endpoints []EndpointStatus `json:"endpoints"`
}

// RegisterFunctionRequest registers a function. Kind "shell" takes Argv
// or Script (with {name} argument substitution); kind "go" takes GoName,
// the name registered with worker.Register in the endpoint's worker; kind
// "python" takes Source, Python code that defines Entry, the function a
// task calls with its arguments as {"args": [...], "kwargs": {...}} (see
// funcx.PythonArgs); the result's output is the JSON of what it returns.
// Env and Dir are for shell functions only.
type RegisterFunctionRequest struct {
	Name           string            `json:"name"`
	Kind           string            `json:"kind"`
	Argv           []string          `json:"argv,omitempty"`
	Script         string            `json:"script,omitempty"`
	GoName         string            `json:"go_name,omitempty"`
	Source         string            `json:"source,omitempty"` // kind "python", at most funcx.MaxPythonSource bytes
	Entry          string            `json:"entry,omitempty"`  // kind "python"
	Env            map[string]string `json:"env,omitempty"`
	Dir            string            `json:"dir,omitempty"`
	Timeout        string            `json:"timeout,omitempty"` // a Go duration, "30s"
	OutputLimit    int               `json:"output_limit,omitempty"`
	ContainerImage string            `json:"container_image,omitempty"`
}

// RegisterFunctionResponse is the new function's ID.
type RegisterFunctionResponse struct {
	FunctionID string `json:"function_id"`
}

// Function is a registered function.
type Function struct {
	FunctionID string `json:"function_id"`
	Owner      string `json:"owner"`
	RegisterFunctionRequest
	CreatedAt time.Time `json:"created_at"`
}

// SubmitRequest submits a batch of tasks to one endpoint.
type SubmitRequest struct {
	EndpointID string       `json:"endpoint_id"`
	Tasks      []TaskSubmit `json:"tasks"`
}

// TaskSubmit is one task: a function and its JSON arguments. TaskID may be
// set by the client (a UUID) so that a retried submission is idempotent;
// otherwise the service assigns one.
type TaskSubmit struct {
	TaskID     string          `json:"task_id,omitempty"`
	FunctionID string          `json:"function_id"`
	Args       json.RawMessage `json:"args,omitempty"`
	Stdin      []byte          `json:"stdin,omitempty"`
}

// SubmitResponse lists the task IDs in submission order.
type SubmitResponse struct {
	TaskIDs []string `json:"task_ids"`
}

// TaskStatusRequest asks for many tasks at once.
type TaskStatusRequest struct {
	TaskIDs []string `json:"task_ids"`
}

// TaskStatus is a task's state and, once terminal, its result.
type TaskStatus struct {
	TaskID     string      `json:"task_id"`
	EndpointID string      `json:"endpoint_id"`
	FunctionID string      `json:"function_id"`
	State      string      `json:"state"`
	Result     *TaskResult `json:"result,omitempty"`
}

// TaskStatusList answers TaskStatusRequest; unknown IDs are absent.
type TaskStatusList struct {
	Tasks []TaskStatus `json:"tasks"`
}

// TaskResult is a finished task's result.
type TaskResult struct {
	TaskID     string          `json:"task_id"`
	EndpointID string          `json:"endpoint_id"`
	Seq        int64           `json:"seq"`
	State      string          `json:"state"` // success or failed
	Output     json.RawMessage `json:"output,omitempty"`
	Stdout     []byte          `json:"stdout,omitempty"`
	Stderr     []byte          `json:"stderr,omitempty"`
	Truncated  bool            `json:"truncated,omitempty"`
	ExitCode   int             `json:"exit_code"`
	Error      *TaskError      `json:"error,omitempty"`
	Attempt    int             `json:"attempt,omitempty"`
	Manager    string          `json:"manager,omitempty"`
	Worker     int             `json:"worker"`
	Times      Times           `json:"times"`
}

// TaskError is a failed task's error.
type TaskError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
}

// Times are a task's stage timestamps.
type Times struct {
	Submitted  time.Time `json:"submitted,omitzero"`
	Received   time.Time `json:"received,omitzero"`
	Dispatched time.Time `json:"dispatched,omitzero"`
	Started    time.Time `json:"started,omitzero"`
	Finished   time.Time `json:"finished,omitzero"`
	Stored     time.Time `json:"stored,omitzero"`
}

// ResultsPage is a page of the caller's results in completion order.
// Request the next page with after=Next; a long poll (wait=) returns as
// soon as any result newer than after exists.
//
// With stream=1 (and a wait) the answer is ContentTypeResultsStream: the
// service sends the status at once, then one ResultsPage per line
// (newline-terminated JSON), each as soon as its results are stored and
// each continuing from the one before, and ends the response when the
// wait has passed. Every page in a stream has results; a stream that
// ends without any had none. A service that does not stream answers
// with one page, as application/json: read the Content-Type.
type ResultsPage struct {
	Results []TaskResult `json:"results"`
	Next    int64        `json:"next"`
}

// ContentTypeResultsStream is the type of a results stream (stream=1).
const ContentTypeResultsStream = "application/x-ndjson"
