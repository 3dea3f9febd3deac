package slurm_test

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/funcx-go/funcx/endpoint"
)

// examples/slurm/config.toml uses only keys endpoint.Config has, with
// values of their types (durations as strings, as profiles write them),
// and passes Validate with provider.type = "slurm".
func TestExampleConfig(t *testing.T) {
	b, err := os.ReadFile("../../examples/slurm/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("examples/slurm/config.toml: %v", err)
	}
	var cfg endpoint.Config
	if err := setTable(reflect.ValueOf(&cfg).Elem(), doc, ""); err != nil {
		t.Fatalf("examples/slurm/config.toml: %v", err)
	}
	if cfg.Provider.Type != "slurm" {
		t.Fatalf("provider.type = %q", cfg.Provider.Type)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("examples/slurm/config.toml: %v", err)
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// setTable sets the fields of struct v from a decoded TOML table, by
// their toml tags; an unknown key or a value of the wrong type is an
// error naming the key.
func setTable(v reflect.Value, table map[string]any, prefix string) error {
	fields := map[string]reflect.Value{}
	for i := range v.NumField() {
		if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
			fields[tag] = v.Field(i)
		}
	}
	for key, val := range table {
		name := prefix + key
		f, ok := fields[key]
		if !ok {
			return fmt.Errorf("%s: unknown key", name)
		}
		switch {
		case f.Type() == durationType:
			s, ok := val.(string)
			d, err := time.ParseDuration(s)
			if !ok || err != nil {
				return fmt.Errorf("%s: %v is not a duration string", name, val)
			}
			f.SetInt(int64(d))
		case f.Kind() == reflect.Struct:
			sub, ok := val.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: want a table", name)
			}
			if err := setTable(f, sub, name+"."); err != nil {
				return err
			}
		case f.Kind() == reflect.Slice:
			items, ok := val.([]any)
			if !ok {
				return fmt.Errorf("%s: want an array", name)
			}
			s := reflect.MakeSlice(f.Type(), len(items), len(items))
			for i, it := range items {
				iv := reflect.ValueOf(it)
				if !iv.CanConvert(f.Type().Elem()) {
					return fmt.Errorf("%s[%d]: %v has the wrong type", name, i, it)
				}
				s.Index(i).Set(iv.Convert(f.Type().Elem()))
			}
			f.Set(s)
		default:
			rv := reflect.ValueOf(val)
			if (rv.Kind() == reflect.String) != (f.Kind() == reflect.String) || !rv.CanConvert(f.Type()) {
				return fmt.Errorf("%s: %v (%T) does not fit %s", name, val, val, f.Type())
			}
			f.Set(rv.Convert(f.Type()))
		}
	}
	return nil
}
