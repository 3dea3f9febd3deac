package provider

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx/internal/registry"
)

// The registry of provider types, in the manner of database/sql drivers:
// each provider package registers its type (the name provider.type takes
// in config.toml) in an init function, and a program links the types it
// needs by importing their packages, for their side effect if need be:
//
//	import _ "github.com/funcx-go/funcx/provider/slurm"
//
// The endpoint package links only provider/local, so that a program that
// embeds an endpoint links no scheduler or Kubernetes client it does not
// use; endpoint/backends links every provider and container runtime.

// Driver builds providers of one type from an endpoint's settings.
type Driver interface {
	// New returns a provider. It does no I/O: work that needs the
	// scheduler or the API server (removing what an earlier run left
	// behind) belongs in the provider's Start (see Starter).
	New(s Settings) (Provider, error)
}

// Validator is implemented by drivers that check their settings beyond
// what the endpoint checks. Validate returns every problem, each error's
// message starting with the config.toml key it is about
// ("provider.kubernetes.namespace: ..."), joined with errors.Join.
type Validator interface {
	Validate(s Settings) error
}

// DriverFunc adapts a function to the Driver interface.
type DriverFunc func(Settings) (Provider, error)

// New calls f.
func (f DriverFunc) New(s Settings) (Provider, error) { return f(s) }

// Settings are what a driver gets from the endpoint's configuration.
type Settings struct {
	// Type is the provider type, as config.toml's provider.type names it.
	Type string
	// EndpointName is the endpoint's display name, for labels that tell
	// endpoints apart. Defaults to none.
	EndpointName string
	// CommandTimeout bounds every scheduler command or API request.
	// Drivers apply their own default when it is zero.
	CommandTimeout time.Duration
	// Options is the provider type's own table of config.toml, as the
	// plain Go value the endpoint decoded it into: for kubernetes a
	// podconfig.Config ([provider.kubernetes]). Nil for types without a
	// table.
	Options any
	// Logger receives the provider's log; nil means quiet.
	Logger *slog.Logger
}

// ErrNotLinked is wrapped by the error of Lookup and New for a provider
// type whose package the program does not import.
var ErrNotLinked = registry.ErrNotLinked

var drivers = registry.New[Driver]("provider type", map[string]string{
	"local":      registry.ModulePath + "/provider/local",
	"slurm":      registry.ModulePath + "/provider/slurm",
	"pbs":        registry.ModulePath + "/provider/pbs",
	"kubernetes": registry.ModulePath + "/provider/kubernetes",
}, "use local, slurm, pbs or kubernetes")

// Register makes a provider type available under name. It panics if name
// is empty, d is nil or name is registered twice, as database/sql's
// Register does: both are programming errors found at start-up.
func Register(name string, d Driver) { drivers.Register(name, d) }

// Lookup returns the driver of provider type name, or an error wrapping
// ErrNotLinked that names the package to import.
func Lookup(name string) (Driver, error) { return drivers.Lookup(name) }

// Types returns the registered provider types, sorted.
func Types() []string { return drivers.Names() }

// New builds a provider of type s.Type with its registered driver.
func New(s Settings) (Provider, error) {
	d, err := Lookup(s.Type)
	if err != nil {
		return nil, err
	}
	return d.New(s)
}

// Starter is implemented by providers with work to do before their first
// block, with the caller's context: the Kubernetes provider deletes the
// pods an earlier run of its endpoint left behind. The engine calls Start
// once, in its own Start, before it submits a block; an error stops the
// engine from starting.
type Starter interface {
	Start(ctx context.Context) error
}

// Start starts p if it is a [Starter] and does nothing otherwise.
func Start(ctx context.Context, p Provider) error {
	if s, ok := p.(Starter); ok {
		if err := s.Start(ctx); err != nil {
			return fmt.Errorf("start provider: %w", err)
		}
	}
	return nil
}
