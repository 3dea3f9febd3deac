package sqlitestore

// migrations are applied in order at Open, each in its own transaction, and
// recorded in schema_migrations by their number (index + 1). Never edit one
// that has shipped: append a new one.
//
// Times are INTEGER Unix nanoseconds (0 = never). Task IDs are 16-byte
// BLOBs: tasks and results are the big tables, and the binary key halves
// their index size.
//
// tasks.owner has no index: the foreign key only needs one when an
// identity is deleted, a rare admin operation that may scan. tasks has no
// foreign key to functions for the same reason (deleting an identity's
// functions would scan tasks once per function); both go when their owner
// goes.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE identities (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	client_id   TEXT NOT NULL UNIQUE,
	secret_hash BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE TABLE tokens (
	hash        BLOB PRIMARY KEY,
	identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_identity ON tokens(identity_id);
CREATE INDEX tokens_expires ON tokens(expires_at);
CREATE TABLE endpoints (
	id             TEXT PRIMARY KEY,
	owner          TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	display_name   TEXT NOT NULL,
	version        TEXT NOT NULL,
	registered_at  INTEGER NOT NULL,
	hb_time        INTEGER NOT NULL DEFAULT 0,
	hb_managers    INTEGER NOT NULL DEFAULT 0,
	hb_workers     INTEGER NOT NULL DEFAULT 0,
	hb_outstanding INTEGER NOT NULL DEFAULT 0,
	hb_stopping    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX endpoints_owner ON endpoints(owner);
CREATE TABLE functions (
	id              TEXT PRIMARY KEY,
	owner           TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
	name            TEXT NOT NULL,
	kind            INTEGER NOT NULL,
	go_name         TEXT NOT NULL,
	argv            TEXT NOT NULL, -- JSON array
	script          TEXT NOT NULL,
	env             TEXT NOT NULL, -- JSON object
	dir             TEXT NOT NULL,
	timeout_ns      INTEGER NOT NULL,
	output_limit    INTEGER NOT NULL,
	container_image TEXT NOT NULL,
	created_at      INTEGER NOT NULL
);
CREATE INDEX functions_owner ON functions(owner);
-- A submission is one POST /v1/tasks: the unit the broker confirms, so
-- that confirming it is one row, not one per task. published: 0 not yet,
-- 1 confirmed, 2 closed by the sweeper (its leftovers failed).
CREATE TABLE submissions (
	id           INTEGER PRIMARY KEY,
	published    INTEGER NOT NULL,
	submitted_at INTEGER NOT NULL
);
CREATE INDEX submissions_unpublished ON submissions(submitted_at) WHERE published = 0;
-- Tasks are keyed by rid, increasing in submission order, with a unique
-- index on the random ID: rows are appended, and only the small index
-- entries land at random places. Results refer to tasks by rid, so their
-- one-result-per-task index grows at its end too (results arrive roughly
-- in submission order) instead of rewriting random pages on every batch.
-- state is the state before any result; a result's state overrides it.
CREATE TABLE tasks (
	rid          INTEGER PRIMARY KEY,
	id           BLOB NOT NULL UNIQUE,
	owner        TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
	endpoint_id  TEXT NOT NULL,
	function_id  TEXT NOT NULL,
	state        INTEGER NOT NULL,
	submission   INTEGER NOT NULL,
	submitted_at INTEGER NOT NULL
);
CREATE INDEX tasks_submission ON tasks(submission);
CREATE TABLE results (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	task_rid      INTEGER NOT NULL UNIQUE REFERENCES tasks(rid) ON DELETE CASCADE,
	task_id       BLOB NOT NULL,
	owner         TEXT NOT NULL,
	endpoint_id   TEXT NOT NULL,
	state         INTEGER NOT NULL,
	output        BLOB,
	stdout        BLOB,
	stderr        BLOB,
	truncated     INTEGER NOT NULL,
	exit_code     INTEGER NOT NULL,
	has_error     INTEGER NOT NULL,
	error_kind    INTEGER NOT NULL,
	error_message TEXT NOT NULL,
	error_stack   TEXT NOT NULL,
	attempt       INTEGER NOT NULL,
	manager       TEXT NOT NULL,
	worker        INTEGER NOT NULL,
	received_at   INTEGER NOT NULL,
	dispatched_at INTEGER NOT NULL,
	started_at    INTEGER NOT NULL,
	finished_at   INTEGER NOT NULL,
	submitted_at  INTEGER NOT NULL,
	stored_at     INTEGER NOT NULL
);
CREATE INDEX results_owner_seq ON results(owner, seq);
`,
	// 2: the latest heartbeat's detail (blocks, scheduler error, routing
	// figures) as JSON; '' until a heartbeat with detail arrives.
	`ALTER TABLE endpoints ADD COLUMN hb_detail TEXT NOT NULL DEFAULT '';`,
	// 3: an endpoint ID belongs to one identity forever. Deleted IDs are
	// tombstoned in deleted_endpoints. Each endpoint row gets an
	// incarnation from the endpoint_incarnation sequence (never reused),
	// and each task the incarnation it was routed to: a result is
	// accepted only while they match. tasks_endpoint finds an endpoint's
	// tasks when it is deleted; its entries are appended at the end of
	// each endpoint's range, so submissions stay cheap.
	//
	// Existing rows: endpoints are numbered by rowid, and tasks without a
	// result get their endpoint's incarnation. Tasks whose endpoint is
	// gone were orphaned by a deletion before this migration: their IDs
	// are tombstoned and those still waiting fail with EndpointDeleted
	// (error kind 10, state failed = 7), as a deletion now does.
	`
CREATE TABLE deleted_endpoints (
	id         TEXT PRIMARY KEY,
	deleted_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE sequences (
	name TEXT PRIMARY KEY,
	last INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE endpoints ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0;
UPDATE endpoints SET incarnation = rowid;
INSERT INTO sequences (name, last) SELECT 'endpoint_incarnation', COALESCE(MAX(incarnation), 0) FROM endpoints;
CREATE INDEX tasks_endpoint ON tasks(endpoint_id);
UPDATE tasks SET incarnation = (SELECT e.incarnation FROM endpoints e WHERE e.id = tasks.endpoint_id)
	WHERE endpoint_id IN (SELECT id FROM endpoints) AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = tasks.rid);
INSERT OR IGNORE INTO deleted_endpoints (id, deleted_at)
	SELECT DISTINCT endpoint_id, CAST(strftime('%s', 'now') AS INTEGER) * 1000000000 FROM tasks
	WHERE endpoint_id NOT IN (SELECT id FROM endpoints);
INSERT INTO results (task_rid, task_id, owner, endpoint_id, state, output, stdout, stderr,
	truncated, exit_code, has_error, error_kind, error_message, error_stack, attempt, manager, worker,
	received_at, dispatched_at, started_at, finished_at, submitted_at, stored_at)
	SELECT t.rid, t.id, t.owner, t.endpoint_id, 7, NULL, NULL, NULL,
	0, -1, 1, 10, 'endpoint ' || t.endpoint_id || ' was deleted before the task had a result', '', 0, '', -1,
	0, 0, 0, CAST(strftime('%s', 'now') AS INTEGER) * 1000000000, t.submitted_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000000000
	FROM tasks t WHERE t.endpoint_id NOT IN (SELECT id FROM endpoints)
	AND NOT EXISTS (SELECT 1 FROM results r WHERE r.task_rid = t.rid)
	ORDER BY t.rid;
`,
}
