// Package service is the funcX web service: the HTTP API of package api,
// client identities and bearer tokens, endpoints, functions, tasks and
// results, and the broker link to the endpoints.
//
// # Running it
//
// New takes a Config with a Store (package sqlitestore) and a
// broker.Service. ListenAndServe serves until its context ends; embedders
// can instead mount Handler on their own server and call Start and Stop.
// Identities are administered with AddIdentity, ListIdentities and
// RemoveIdentity (the funcx-service CLI's user commands).
//
// # Ownership
//
// Every endpoint, function, task and result belongs to the identity that
// created it. Reads of another identity's resources, submissions to its
// endpoints and uses of its functions answer 404, exactly as if they did
// not exist; only re-registering another identity's endpoint ID answers
// 403, since the registration must say why it cannot have that ID.
//
// # Endpoint identity
//
// An endpoint ID belongs to one identity forever. Deleting an endpoint
// (or its owner) tombstones its ID: registering it again answers 410 to
// anyone, its former owner too, without saying whose it was; using it
// answers 410. The deletion fails every task of the endpoint without a
// result with EndpointDeleted in the same transaction, and wakes the
// owner's long polls. Each task is stamped at submission with its
// endpoint's Incarnation (kept by the owner's re-registrations, never
// reused); a result is stored only if it came from that endpoint's queue
// and the task's incarnation is the endpoint's current one. Anything else
// is dropped and counted by reason: unknown_task, foreign_task,
// stale_registration.
//
// # Submissions
//
// POST /v1/tasks stores the batch in one transaction, publishes it as one
// broker batch and answers with the task IDs only once the broker has
// confirmed it.
//
// A task whose client-supplied task_id is already stored (same owner,
// endpoint and function) is not stored again: the same IDs come back, and
// it is published again only if no publish of it was ever confirmed and it
// has no result. The same ID with another owner, endpoint or function is
// 409 and nothing of the batch is stored.
//
// If the broker does not confirm, the answer is 503. Tasks with
// client-supplied IDs stay stored for Config.PublishRetryWindow:
// resubmitting them with the same IDs publishes them, and past the window
// they fail with InternalError, so no task waits forever (this also covers
// a service that died between storing and publishing). Tasks with
// service-assigned IDs, which the client never learnt, are deleted. A
// task too large for any broker message is 413, and the batch's new tasks
// are deleted.
//
// # Results
//
// Results from endpoints are stored idempotently: the first
// terminal result of a task wins, later ones are counted
// (funcx_service_duplicate_results_total) and dropped. Each stored result
// gets a seq, increasing in commit order, which GET /v1/results pages and
// long-polls by.
//
// # Hostile clients
//
// Config.BodyTimeout bounds the time a request body may take (408),
// Config.MaxUnauthenticatedPerClient the requests of one client address
// in flight before their token checked out (429), and
// Config.MaxBodyBytesInFlight the body bytes all requests hold (503);
// docs/service.md has the figures.
//
// # Metrics
//
// /metrics serves, from Config.Registry: funcx_service_tasks_submitted_total,
// _tasks_completed_total, _tasks_failed_total{kind},
// _duplicate_results_total, _dropped_results_total{reason},
// _publish_failures_total, _task_latency_seconds (submitted to stored),
// _endpoints_online, _http_requests_total{route,code} and
// _body_bytes_in_flight.
package service
