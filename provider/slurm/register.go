package slurm

import "github.com/funcx-go/funcx/provider"

// Type is the provider type this package registers, as provider.type
// names it in config.toml.
const Type = "slurm"

func init() {
	provider.Register(Type, provider.DriverFunc(func(s provider.Settings) (provider.Provider, error) {
		return New(Config{CommandTimeout: s.CommandTimeout, Logger: s.Logger})
	}))
}
