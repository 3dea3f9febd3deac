package main

import (
	"fmt"

	"github.com/funcx-go/funcx/internal/version"
)

type versionCmd struct{}

func (versionCmd) Run(e *env) error {
	_, err := fmt.Fprintln(e.sys.stdout, version.String("funcx-endpoint"))
	return err
}
