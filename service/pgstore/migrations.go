package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// migrations are applied in order at Open, all pending ones in one
// transaction, and recorded in schema_migrations by their number (index
// + 1). Never edit one that has shipped: append a new one.
//
// The schema is sqlitestore's (see its migrations for the reasons of its
// shape) with PostgreSQL types: times are bigint Unix nanoseconds (0 =
// never), task IDs uuid, seqs and incarnations come from sequences.
// results.seq has no default: only a writer holding the results lock
// may take one (see the package documentation).
//
// tasks and results have no foreign keys, unlike sqlitestore's: each
// row's check cost about 24 µs of the database's time per task and per
// result (more than the rest of the insert), where SQLite's cost little.
// What they did is done by hand: AddTasks holds the endpoint's row, whose
// owner's foreign key stands for the task's; DeleteIdentity deletes the
// identity's results and tasks; results are only stored for tasks that
// exist, under the results lock, which DeleteUnpublished also takes.
var migrations = []string{
	// 1: the schema of sqlitestore's migrations 1 to 3.
	`
CREATE TABLE identities (
	id          text PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	client_id   text NOT NULL UNIQUE,
	secret_hash bytea NOT NULL,
	created_at  bigint NOT NULL
);
CREATE TABLE tokens (
	hash        bytea PRIMARY KEY,
	identity_id text NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
	created_at  bigint NOT NULL,
	expires_at  bigint NOT NULL
);
CREATE INDEX tokens_identity ON tokens(identity_id);
CREATE INDEX tokens_expires ON tokens(expires_at);
CREATE SEQUENCE endpoint_incarnation;
CREATE TABLE endpoints (
	id             text PRIMARY KEY,
	owner          text NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
	name           text NOT NULL,
	display_name   text NOT NULL,
	version        text NOT NULL,
	registered_at  bigint NOT NULL,
	incarnation    bigint NOT NULL,
	hb_time        bigint NOT NULL DEFAULT 0,
	hb_managers    integer NOT NULL DEFAULT 0,
	hb_workers     integer NOT NULL DEFAULT 0,
	hb_outstanding integer NOT NULL DEFAULT 0,
	hb_stopping    boolean NOT NULL DEFAULT false,
	hb_detail      text NOT NULL DEFAULT ''
);
CREATE INDEX endpoints_owner ON endpoints(owner);
CREATE TABLE deleted_endpoints (
	id         text PRIMARY KEY,
	deleted_at bigint NOT NULL
);
CREATE TABLE functions (
	id              text PRIMARY KEY,
	owner           text NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
	name            text NOT NULL,
	kind            smallint NOT NULL,
	go_name         text NOT NULL,
	argv            text NOT NULL, -- JSON array
	script          text NOT NULL,
	env             text NOT NULL, -- JSON object
	dir             text NOT NULL,
	timeout_ns      bigint NOT NULL,
	output_limit    bigint NOT NULL,
	container_image text NOT NULL,
	created_at      bigint NOT NULL
);
CREATE INDEX functions_owner ON functions(owner);
-- published: 0 not yet, 1 confirmed, 2 closed by the sweeper.
CREATE TABLE submissions (
	id           bigserial PRIMARY KEY,
	published    smallint NOT NULL,
	submitted_at bigint NOT NULL
);
CREATE INDEX submissions_unpublished ON submissions(submitted_at) WHERE published = 0;
CREATE TABLE tasks (
	rid          bigserial PRIMARY KEY,
	id           uuid NOT NULL UNIQUE,
	owner        text NOT NULL,
	endpoint_id  text NOT NULL,
	function_id  text NOT NULL,
	state        smallint NOT NULL,
	submission   bigint NOT NULL,
	submitted_at bigint NOT NULL,
	incarnation  bigint NOT NULL
);
CREATE INDEX tasks_submission ON tasks(submission);
CREATE INDEX tasks_endpoint ON tasks(endpoint_id);
CREATE SEQUENCE result_seq;
CREATE TABLE results (
	seq           bigint PRIMARY KEY,
	task_rid      bigint NOT NULL UNIQUE,
	task_id       uuid NOT NULL,
	owner         text NOT NULL,
	endpoint_id   text NOT NULL,
	state         smallint NOT NULL,
	output        bytea,
	stdout        bytea,
	stderr        bytea,
	truncated     boolean NOT NULL,
	exit_code     integer NOT NULL,
	has_error     boolean NOT NULL,
	error_kind    smallint NOT NULL,
	error_message text NOT NULL,
	error_stack   text NOT NULL,
	attempt       integer NOT NULL,
	manager       text NOT NULL,
	worker        integer NOT NULL,
	received_at   bigint NOT NULL,
	dispatched_at bigint NOT NULL,
	started_at    bigint NOT NULL,
	finished_at   bigint NOT NULL,
	submitted_at  bigint NOT NULL,
	stored_at     bigint NOT NULL
);
CREATE INDEX results_owner_seq ON results(owner, seq);
`,
}

// migrate creates the schema if needed and applies the migrations it
// lacks, under an advisory lock so that replicas starting together take
// turns.
func (s *Store) migrate(ctx context.Context) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("migrate", s.schema)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		// The schema is named explicitly: search_path is fixed when a
		// connection starts, maybe before the schema existed.
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+s.schema+`;
			CREATE TABLE IF NOT EXISTS `+s.schema+`.schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL);
			SET LOCAL search_path = `+s.schema); err != nil {
			return fmt.Errorf("create schema %s: %w", s.schema, err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("database schema %s has version %d, newer than this program's %d: run a newer funcx-service", s.schema, have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("apply migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, v, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("record migration %d: %w", v, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}
