package endpoint_test

import (
	"os"
	"testing"

	"github.com/BurntSushi/toml"

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

// decodeProfile decodes a profile as a user writes it, durations as
// strings ("30s"), refusing keys endpoint.Config does not have.
func decodeProfile(t *testing.T, b []byte) endpoint.Config {
	t.Helper()
	var cfg endpoint.Config
	md, err := toml.Decode(string(b), &cfg)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if unknown := md.Undecoded(); len(unknown) > 0 {
		t.Fatalf("decode: unknown keys %v", unknown)
	}
	return cfg
}
