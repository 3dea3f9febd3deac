package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// CreateFunction stores a function.
func (s *Store) CreateFunction(ctx context.Context, f service.FunctionRecord) error {
	argv, _ := json.Marshal(f.Function.Argv) // strings always encode
	env, _ := json.Marshal(f.Function.Env)
	_, err := s.pool.Exec(ctx, `INSERT INTO functions (id, owner, name, kind, go_name, argv, script, env, dir,
		timeout_ns, output_limit, container_image, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		f.ID, f.Owner, f.Name, int16(f.Function.Kind), f.Function.Name, string(argv), f.Function.Script, string(env),
		f.Function.Dir, int64(f.Function.Timeout), int64(f.Function.OutputLimit), f.ContainerImage, nanos(f.CreatedAt))
	return err
}

// Function returns one function.
func (s *Store) Function(ctx context.Context, id string) (service.FunctionRecord, error) {
	var f service.FunctionRecord
	var kind int16
	var argv, env string
	var timeout, limit, created int64
	err := s.pool.QueryRow(ctx, `SELECT id, owner, name, kind, go_name, argv, script, env, dir,
		timeout_ns, output_limit, container_image, created_at FROM functions WHERE id = $1`, id).
		Scan(&f.ID, &f.Owner, &f.Name, &kind, &f.Function.Name, &argv, &f.Function.Script, &env,
			&f.Function.Dir, &timeout, &limit, &f.ContainerImage, &created)
	if err != nil {
		return f, notFound(err)
	}
	f.Function.Kind = funcx.FunctionKind(kind)
	f.Function.Timeout = time.Duration(timeout)
	f.Function.OutputLimit = int(limit)
	f.CreatedAt = fromNanos(created)
	if err := json.Unmarshal([]byte(argv), &f.Function.Argv); err != nil {
		return f, fmt.Errorf("decode argv of function %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(env), &f.Function.Env); err != nil {
		return f, fmt.Errorf("decode env of function %s: %w", id, err)
	}
	return f, nil
}
