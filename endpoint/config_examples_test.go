package endpoint_test

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/funcx-go/funcx/endpoint"
)

// The documented example profiles decode strictly (every key exists, every
// value has the right type) and validate.
func TestExampleProfiles(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"../examples/pbs/config.toml", "../examples/kubernetes/config.toml"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg := decodeProfile(t, b)
			cfg = cfg.WithDefaults()
			if err := cfg.Validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
			if cfg.Provider.Walltime == 0 || cfg.Provider.CommandTimeout == 0 {
				t.Errorf("durations not decoded: %+v", cfg.Provider)
			}
		})
	}
}

// decodeProfile decodes a profile as the design has it: durations are
// strings ("30s"). go-toml has no duration strings, so they are turned
// into nanoseconds first, guided by the Config's field types.
func decodeProfile(t *testing.T, b []byte) endpoint.Config {
	t.Helper()
	var raw map[string]any
	if err := toml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := durationsToInts(raw, reflect.TypeFor[endpoint.Config]()); err != nil {
		t.Fatalf("decode: %v", err)
	}
	norm, err := toml.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	var cfg endpoint.Config
	dec := toml.NewDecoder(bytes.NewReader(norm))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return cfg
}

func durationsToInts(m map[string]any, typ reflect.Type) error {
	for i := range typ.NumField() {
		f := typ.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		v, ok := m[key]
		if !ok || key == "" || key == "-" {
			continue
		}
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
			s, isString := v.(string)
			if !isString {
				continue // the strict decode reports it
			}
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			m[key] = int64(d)
		case f.Type.Kind() == reflect.Struct:
			if sub, isTable := v.(map[string]any); isTable {
				if err := durationsToInts(sub, f.Type); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
