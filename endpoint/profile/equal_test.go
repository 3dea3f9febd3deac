package profile

import (
	"reflect"

	"github.com/funcx-go/funcx/endpoint"
)

// equalConfig compares configurations, an empty list equal to none (TOML's
// `key = []` against a default nil). Every slice field is normalised, in
// nested tables too, so keys added later need no change here.
func equalConfig(a, b endpoint.Config) bool {
	nilEmptySlices(reflect.ValueOf(&a).Elem())
	nilEmptySlices(reflect.ValueOf(&b).Elem())
	return reflect.DeepEqual(a, b)
}

func nilEmptySlices(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				nilEmptySlices(f)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.SetZero()
		}
	}
}
