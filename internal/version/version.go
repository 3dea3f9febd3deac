// Package version says which funcx build is running, the same way in every
// command.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with
// -ldflags "-X github.com/funcx-go/funcx/internal/version.Version=v1.2.3";
// otherwise the module version from the build info is shown.
var Version string

// String is the version line a command prints: "NAME VERSION (GO OS/ARCH)".
func String(command string) string {
	v := Version
	if v == "" {
		v = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	return fmt.Sprintf("%s %s (%s %s/%s)", command, v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
