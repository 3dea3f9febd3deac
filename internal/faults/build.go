package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the programs a run starts.
type Binaries struct {
	Service  string // funcx-service
	Endpoint string // funcx-endpoint, also its managers' and workers' binary
}

// Build builds funcx-service and funcx-endpoint of the module this
// process runs in (found from the working directory) into dir, static
// (CGO_ENABLED=0) as they are installed on login and compute nodes.
func Build(ctx context.Context, dir string) (Binaries, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return Binaries{}, fmt.Errorf("find the module: go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "/" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return Binaries{}, fmt.Errorf("find the module: run from within the funcx-go tree (go env GOMOD said %q)", strings.TrimSpace(string(gomod)))
	}
	b := Binaries{Service: filepath.Join(dir, "funcx-service"), Endpoint: filepath.Join(dir, "funcx-endpoint")}
	for pkg, out := range map[string]string{"./cmd/funcx-service": b.Service, "./cmd/funcx-endpoint": b.Endpoint} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
		}
	}
	return b, nil
}
