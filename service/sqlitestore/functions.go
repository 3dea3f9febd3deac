package sqlitestore

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
	_, err := s.w.ExecContext(ctx, `INSERT INTO functions (id, owner, name, kind, go_name, argv, script, env, dir,
		timeout_ns, output_limit, container_image, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.Owner, f.Name, int(f.Function.Kind), f.Function.Name, string(argv), f.Function.Script, string(env),
		f.Function.Dir, int64(f.Function.Timeout), f.Function.OutputLimit, f.ContainerImage, nanos(f.CreatedAt))
	return err
}

// Function returns one function.
func (s *Store) Function(ctx context.Context, id string) (service.FunctionRecord, error) {
	var f service.FunctionRecord
	var kind uint8
	var argv, env string
	var timeout, created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, owner, name, kind, go_name, argv, script, env, dir,
		timeout_ns, output_limit, container_image, created_at FROM functions WHERE id = ?`, id).
		Scan(&f.ID, &f.Owner, &f.Name, &kind, &f.Function.Name, &argv, &f.Function.Script, &env,
			&f.Function.Dir, &timeout, &f.Function.OutputLimit, &f.ContainerImage, &created)
	if err != nil {
		return f, notFound(err)
	}
	f.Function.Kind = funcx.FunctionKind(kind)
	f.Function.Timeout = time.Duration(timeout)
	f.CreatedAt = fromNanos(created)
	if err := json.Unmarshal([]byte(argv), &f.Function.Argv); err != nil {
		return f, fmt.Errorf("decode argv of function %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(env), &f.Function.Env); err != nil {
		return f, fmt.Errorf("decode env of function %s: %w", id, err)
	}
	return f, nil
}
