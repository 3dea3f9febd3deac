package profile

import (
	"errors"
	"os"
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

// FuzzProfileFiles: whatever endpoint.json, run.json and daemon.pid hold
// (a crash mid-write, a hand edit), reading the profile's state never
// panics, and a pid file nobody locks is Disconnected.
func FuzzProfileFiles(f *testing.F) {
	f.Add([]byte(`{"endpoint_id":"1e999502-b434-49a2-a2e0-d925383d2dd4","owner_id":"u"}`), []byte(`{"run_id":"ab","blocks":[{"block_id":"0","job_id":"7"}]}`), []byte("123\n"))
	f.Add([]byte(`{"endpoint_id":""}`), []byte(`[]`), []byte(""))
	f.Add([]byte(`{oops`), []byte(`{"pid":"x"}`), []byte("-1"))
	f.Fuzz(func(t *testing.T, endpointJSON, runJSON, pid []byte) {
		p, err := New(t.TempDir(), "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Create(); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{EndpointFile: endpointJSON, RunFile: runJSON, PIDFile: pid} {
			if err := os.WriteFile(p.Path(name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, _, _ = p.Run()
		st, err := p.Status()
		if err == nil && st.State != Disconnected {
			t.Fatalf("an unlocked pid file gave state %v", st.State)
		}
	})
}
