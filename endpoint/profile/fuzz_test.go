package profile

import (
	"errors"
	"strings"
	"testing"
)

// FuzzDecode feeds config.toml bytes from anywhere: Decode never panics,
// and every failure is a *ConfigError that names the file.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(Template("fuzz")))
	f.Add([]byte("service_url = \"http://x\"\n[provider]\nmax_blocks = 2\nwalltime = \"1h\"\n"))
	f.Add([]byte("heartbeat_period = 30\n"))
	f.Add([]byte("provider = {type = \"local\", kubernetes = {image = \"x\"}}\n"))
	f.Add([]byte("[strategy]\nmax_idletime = \"-5s\"\n[[provider]]\n"))
	f.Add([]byte("a.b.c = 1\n\"quoted key\" = 2\n[container]\nbinds = [1, \"x\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Decode("fuzz.toml", data)
		if err == nil {
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("error %v is not a *ConfigError with problems", err)
		}
		if !strings.HasPrefix(err.Error(), "fuzz.toml is not a valid endpoint configuration:") {
			t.Fatalf("error does not name the file: %q", err)
		}
	})
}
