package local

import "github.com/funcx-go/funcx/provider"

// Type is the provider type this package registers, as provider.type
// names it in config.toml.
const Type = "local"

func init() {
	provider.Register(Type, provider.DriverFunc(func(s provider.Settings) (provider.Provider, error) {
		return New(Config{Logger: s.Logger})
	}))
}
