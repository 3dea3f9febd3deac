package profile

import (
	"reflect"

	"github.com/funcx-go/funcx/endpoint"
)

// equalConfig compares configurations, treating nil and empty lists alike.
func equalConfig(a, b endpoint.Config) bool {
	norm := func(c *endpoint.Config) {
		for _, s := range []*[]string{&c.AvailableAccelerators, &c.WorkerCommand, &c.Container.RunOptions, &c.Container.Binds} {
			if len(*s) == 0 {
				*s = nil
			}
		}
	}
	norm(&a)
	norm(&b)
	return reflect.DeepEqual(a, b)
}
