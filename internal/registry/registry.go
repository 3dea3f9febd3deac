// Package registry is the table behind provider.Register and
// container.Register: drivers by name, registered from init functions as
// database/sql drivers are, and an error for a name that is not linked
// which says what to import.
package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ModulePath is this module's import path.
const ModulePath = "github.com/funcx-go/funcx"

// AllPackage links every provider and container runtime.
const AllPackage = ModulePath + "/endpoint/backends"

// ErrNotLinked is wrapped by Lookup's error for a name no package
// registered.
var ErrNotLinked = errors.New("not linked into this program")

// Registry maps names to drivers. The zero value is not usable; use New.
type Registry[D any] struct {
	kind  string            // "provider type", "container runtime"
	known map[string]string // names of this module and their packages
	hint  string            // what to use, for an unknown name

	mu      sync.RWMutex
	drivers map[string]D
}

// New returns an empty registry of drivers of kind (for messages); known
// maps the names this module implements to their import paths, and hint
// lists them for the user ("use local, slurm, pbs or kubernetes").
func New[D any](kind string, known map[string]string, hint string) *Registry[D] {
	return &Registry[D]{kind: kind, known: known, hint: hint, drivers: map[string]D{}}
}

// Register adds d under name. It panics if name is empty, d is nil or
// name is registered twice: programming errors, found at start-up.
func (r *Registry[D]) Register(name string, d D) {
	if name == "" || any(d) == nil {
		panic(fmt.Sprintf("register %s: needs a name and a driver", r.kind))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.drivers[name]; dup {
		panic(fmt.Sprintf("register %s %q: registered twice", r.kind, name))
	}
	r.drivers[name] = d
}

// Lookup returns the driver registered as name, or an error wrapping
// ErrNotLinked that names the package to import.
func (r *Registry[D]) Lookup(name string) (D, error) {
	r.mu.RLock()
	d, ok := r.drivers[name]
	r.mu.RUnlock()
	if ok {
		return d, nil
	}
	if pkg, known := r.known[name]; known {
		return d, fmt.Errorf("%s %q is %w: import _ %q (or %q, which links every provider and runtime)", r.kind, name, ErrNotLinked, pkg, AllPackage)
	}
	return d, fmt.Errorf("%s %q is unknown; %s (%w; linked: %s)", r.kind, name, r.hint, ErrNotLinked, strings.Join(r.Names(), ", "))
}

// Names returns the registered names, sorted.
func (r *Registry[D]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.drivers))
	for n := range r.drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
