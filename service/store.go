package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// Store keeps the service's identities, tokens, endpoints, functions, tasks
// and results. The SQLite implementation is in package sqlitestore; a
// PostgreSQL one can be added behind the same interface.
//
// Implementations return ErrNotFound for missing rows and must make each
// method atomic. StoreResults must assign seq numbers that increase in
// commit order, so that a reader that has seen seq N never later finds a
// new result below N (a single writer gives that for free).
type Store interface {
	CreateIdentity(ctx context.Context, id IdentityRecord) error
	IdentityByClientID(ctx context.Context, clientID string) (IdentityRecord, error)
	Identities(ctx context.Context) ([]Identity, error)
	// DeleteIdentity deletes the identity and everything it owns.
	DeleteIdentity(ctx context.Context, id string) error

	CreateToken(ctx context.Context, t Token) error
	// TokenIdentity returns the identity a token belongs to and when the
	// token expires (expired tokens are kept until DeleteExpiredTokens).
	TokenIdentity(ctx context.Context, hash []byte) (id Identity, expires time.Time, err error)
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error)

	// RegisterEndpoint creates the endpoint with a new Incarnation, or
	// updates its names and registration time (keeping its Incarnation)
	// if the same owner registered it before. It returns ErrNotOwner if
	// another identity owns the ID, and ErrDeleted if the ID was ever
	// deleted: an endpoint ID belongs to one identity forever.
	RegisterEndpoint(ctx context.Context, e Endpoint) (created bool, err error)
	// Endpoint returns one endpoint; ErrDeleted (which is also
	// ErrNotFound) if its ID was deleted.
	Endpoint(ctx context.Context, id string) (Endpoint, error)
	Endpoints(ctx context.Context, owner string) ([]Endpoint, error)
	// EndpointIDs lists the IDs of every stored endpoint, of every
	// owner, in no particular order: those whose results the service
	// consumes.
	EndpointIDs(ctx context.Context) ([]string, error)
	// DeleteEndpoint deletes the endpoint, tombstones its ID (it can never
	// be registered again, by anyone) and fails every task of it without
	// a result with EndpointDeleted (stored at the given time), all in one
	// transaction. Its tasks and results stay readable.
	DeleteEndpoint(ctx context.Context, id string, at time.Time) (EndpointDeletion, error)
	// ForgetNewEndpoint undoes a registration that RegisterEndpoint just
	// created but that could not be completed (the broker refused it):
	// it deletes the endpoint without a tombstone, so that the ID may be
	// registered again, unless a task was routed to it, in which case it
	// keeps it.
	ForgetNewEndpoint(ctx context.Context, id string) error
	RecordHeartbeat(ctx context.Context, endpointID string, hb Heartbeat) error

	CreateFunction(ctx context.Context, f FunctionRecord) error
	Function(ctx context.Context, id string) (FunctionRecord, error)

	// AddTasks stores the tasks as one submission, in one transaction.
	// New tasks are stored in state waiting-for-ep, stamped with their
	// endpoint's Incarnation; if an endpoint of the tasks does not exist
	// (any more) or is not the task owner's, the whole call fails with
	// ErrDeleted or ErrNotFound. A task whose ID is
	// already stored with the same owner, endpoint and function is not
	// stored again; if it was never published and has no result, it moves
	// into this submission, so that publishing the submission publishes
	// it again. A task ID stored with another owner, endpoint or function
	// fails the whole call with a *TaskConflictError.
	AddTasks(ctx context.Context, tasks []TaskRecord) (Submission, error)
	// MarkPublished records that the broker confirmed a submission.
	MarkPublished(ctx context.Context, submission int64) error
	// DeleteUnpublished deletes those of the tasks that are still in the
	// submission, if it was never published.
	DeleteUnpublished(ctx context.Context, submission int64, ids []funcx.TaskID) error
	// Unpublished lists up to limit tasks without a result from
	// submissions made before the given time and never published, oldest
	// first. Such submissions with no task left to list are closed: never
	// listed again.
	Unpublished(ctx context.Context, before time.Time, limit int) ([]TaskRecord, error)
	// Tasks returns those of the tasks that exist and belong to owner, in
	// no particular order, each with its result once it has one.
	Tasks(ctx context.Context, owner string, ids []funcx.TaskID) ([]TaskRecord, error)

	// StoreResults stores results reported by an endpoint in one
	// transaction. A result is accepted only from the registration its
	// task was routed to: the task's endpoint must be endpointID and its
	// Incarnation the endpoint's current one. The first terminal result
	// of a task wins; later ones are counted as duplicates. Results for
	// tasks that do not exist are counted as unknown, for tasks routed to
	// another endpoint as foreign, and for tasks routed to another
	// registration (or of a deleted endpoint) as stale; all are dropped.
	StoreResults(ctx context.Context, endpointID string, results []funcx.Result, stored time.Time) (StoredResults, error)
	// Results returns up to limit of owner's results with seq > after, in
	// seq order.
	Results(ctx context.Context, owner string, after int64, limit int) ([]ResultRecord, error)

	Close() error
}

// Errors of a Store.
var (
	ErrNotFound = errors.New("not found")
	ErrNotOwner = errors.New("owned by another identity")
	ErrConflict = errors.New("already exists")
	// ErrDeleted: the endpoint ID was deleted and is tombstoned. It
	// matches ErrNotFound too, since no such endpoint exists.
	ErrDeleted = fmt.Errorf("deleted for good: %w", ErrNotFound)
)

// TaskConflictError is AddTasks' error for a task ID already used by
// another owner, endpoint or function.
type TaskConflictError struct{ ID funcx.TaskID }

func (e *TaskConflictError) Error() string {
	return fmt.Sprintf("task_id %s is already used by another task", e.ID)
}

// Identity is a client identity: whoever holds its client ID and secret.
type Identity struct {
	ID        string
	Name      string
	ClientID  string
	CreatedAt time.Time
}

// IdentityRecord is an identity with the SHA-256 hash of its secret.
type IdentityRecord struct {
	Identity
	SecretHash []byte
}

// Token is a bearer token, stored as its SHA-256 hash.
type Token struct {
	Hash       []byte
	IdentityID string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Endpoint is a registered endpoint and its latest heartbeat.
type Endpoint struct {
	ID          string
	Owner       string
	Name        string
	DisplayName string
	Version     string
	// RegisteredAt is the time of its latest registration.
	RegisteredAt time.Time
	Heartbeat    Heartbeat
	// Incarnation identifies this registration of the ID: the store sets
	// it when it creates the endpoint, re-registrations by the owner keep
	// it, and it is never reused. Each task is stamped with it.
	Incarnation int64
}

// EndpointDeletion is what DeleteEndpoint did: the tasks it failed with
// EndpointDeleted, all the endpoint owner's, with the results of seqs
// FirstSeq..LastSeq (none if Failed is 0).
type EndpointDeletion struct {
	Owner             string
	Failed            int
	FirstSeq, LastSeq int64
}

// Heartbeat is an endpoint's latest status report. Time is when the
// service received it (not the endpoint's clock, which may be skewed);
// zero if none arrived yet.
type Heartbeat struct {
	Time        time.Time
	Managers    int
	Workers     int
	Outstanding int
	Stopping    bool
	// Detail is the heartbeat's block and routing detail, within the
	// bounds of broker.HeartbeatDetail.Trim.
	Detail broker.HeartbeatDetail
}

// FunctionRecord is a registered function.
type FunctionRecord struct {
	ID             string
	Owner          string
	Name           string
	Function       funcx.Function
	ContainerImage string
	CreatedAt      time.Time
}

// TaskRecord is a stored task.
type TaskRecord struct {
	ID         funcx.TaskID
	Owner      string
	EndpointID string
	FunctionID string
	// State is the state of its result if it has one, else its stored
	// state.
	State     funcx.TaskState
	Submitted time.Time
	// Result is set by Tasks once the task has a result.
	Result *ResultRecord
}

// Submission is what AddTasks stored: the submission's ID (0 if it holds
// no task) and, in request order, what became of each task.
type Submission struct {
	ID    int64
	Tasks []AddedTask
}

// AddedTask reports what AddTasks did with one task.
type AddedTask struct {
	// Existing is set if the task was stored before.
	Existing bool
	// Publish is set if the task is in this submission: new, or moved
	// into it because it was never published.
	Publish bool
	// State is its state (of its result, if it has one).
	State funcx.TaskState
}

// ResultRecord is a stored result.
type ResultRecord struct {
	Seq        int64
	Owner      string
	EndpointID string
	Submitted  time.Time
	Stored     time.Time
	Result     funcx.Result
}

// StoredResults is the outcome of StoreResults.
type StoredResults struct {
	Stored     []ResultRecord
	Duplicates int
	Unknown    int
	// Foreign counts results for tasks routed to another endpoint, and
	// Stale those for tasks routed to another registration of this one
	// (or of an endpoint deleted since); they are dropped.
	Foreign, Stale int
	// NotTerminal counts results whose state was not terminal, which
	// endpoints never send; they are dropped.
	NotTerminal int
}
