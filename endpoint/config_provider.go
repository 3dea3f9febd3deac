package endpoint

import (
	"errors"
	"fmt"

	"github.com/funcx-go/funcx/provider"
	// The default provider type is always linked, so that the zero
	// Config runs; every other type is linked by its own import.
	_ "github.com/funcx-go/funcx/provider/local"
)

// Provider types of this module (provider.type). Each but local is
// linked by importing its package (or endpoint/backends).
const (
	ProviderLocal      = "local"
	ProviderSlurm      = "slurm"
	ProviderPBS        = "pbs"
	ProviderKubernetes = "kubernetes"
)

// providerSettings are what the driver of provider.type gets: the
// endpoint's name, the command timeout and the type's own table.
func (c *Config) providerSettings() provider.Settings {
	s := provider.Settings{
		Type:           c.Provider.Type,
		EndpointName:   c.DisplayName,
		CommandTimeout: c.Provider.CommandTimeout,
		Logger:         c.Logger,
	}
	if c.Provider.Type == ProviderKubernetes {
		s.Options = c.Provider.Kubernetes
	}
	return s
}

// validateProviderSettings reports what the driver of provider.type
// finds wrong with its settings (the [provider.TYPE] table), after the
// rules that tie the type to the rest of the configuration. A type that
// is not linked is provider.type's own error.
func (c *Config) validateProviderSettings() []error {
	if c.Provider.Implementation != nil {
		return nil
	}
	d, err := provider.Lookup(c.Provider.Type)
	if err != nil {
		return nil
	}
	v, ok := d.(provider.Validator)
	if !ok {
		return nil
	}
	err = v.Validate(c.providerSettings())
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap() // one problem per key, as Validate reports them
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// newProvider is the caller's provider, or one built by the driver of
// provider.type. It does no I/O; the engine's Start starts it.
func (c *Config) newProvider() (provider.Provider, error) {
	if c.Provider.Implementation != nil {
		return c.Provider.Implementation, nil
	}
	p, err := provider.New(c.providerSettings())
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if p == nil {
		return nil, errors.New("endpoint: the driver of provider.type " + c.Provider.Type + " returned no provider")
	}
	return p, nil
}
