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
}
