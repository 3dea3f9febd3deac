package profile

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/funcx-go/funcx/endpoint"
)

func TestDecodeValues(t *testing.T) {
	t.Parallel()
	f, err := Decode("config.toml", []byte(`
service_url = "https://funcx.example.org"
display_name = "login node"
heartbeat_period = "10s"
heartbeat_threshold = "1m"
available_accelerators = ["0", "1"]
cores_per_worker = 2
python_command = "/opt/conda/envs/science/bin/python"
[provider]
max_blocks = 3
walltime = "1h30m"
[provider.kubernetes]
namespace = "science"
[strategy]
max_idletime = "45s"
`))
	if err != nil {
		t.Fatal(err)
	}
	c := f.Config
	if f.ServiceURL != "https://funcx.example.org" || c.DisplayName != "login node" || c.HeartbeatPeriod != 10*time.Second ||
		c.HeartbeatThreshold != time.Minute || len(c.AvailableAccelerators) != 2 || c.CoresPerWorker != 2 ||
		c.Provider.MaxBlocks != 3 || c.Provider.Walltime != 90*time.Minute || c.Provider.Kubernetes.Namespace != "science" ||
		c.Strategy.MaxIdleTime != 45*time.Second || c.PythonCommand != "/opt/conda/envs/science/bin/python" {
		t.Fatalf("decoded %+v", f)
	}
	// Unset keys stay zero: defaults are the engine's business.
	if c.MaxWorkersPerNode != 0 || c.Provider.Type != "" {
		t.Fatalf("unset keys were filled: %+v", c)
	}
}

// Every error names the key and its line, before anything starts.
func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		want      []string // "LINE KEY" then a fragment of the message
	}{
		{"unknown key", "display_name = \"x\"\n\n[provider]\nmax_block = 2\n", []string{"line 4: provider.max_block: unknown key (did you mean provider.max_blocks?)"}},
		{"key in the wrong table", "[provider]\nmax_idletime = \"5m\"\n", []string{"line 2: provider.max_idletime: unknown key (did you mean strategy.max_idletime?)"}},
		{"top-level key under a table", "[provider]\nmax_blocks = 2\nmax_workers_per_node = 4\n", []string{"line 3: provider.max_workers_per_node: unknown key (max_workers_per_node is a top-level key: move it above the first [table] header)"}},
		{"unknown table", "[providers]\ntype = \"local\"\n", []string{"line 1: providers: unknown key"}},
		{"wrong type", "\n[provider]\nmin_blocks = \"two\"\n", []string{"line 3: provider.min_blocks: want an integer, not a TOML string"}},
		{"wrong type for a list", "available_accelerators = \"0\"\n", []string{"line 1: available_accelerators: want a list of strings, not a TOML string"}},
		{"duration without unit", "heartbeat_period = \"30\"\n", []string{`line 1: heartbeat_period: "30" has no unit: write it like "30s"`}},
		{"duration as a number", "\n\n[strategy]\nmax_idletime = 30\n", []string{`line 4: strategy.max_idletime: want a duration string like "30s", not an integer`}},
		{"bad duration", "[provider]\nwalltime = \"soon\"\n", []string{`line 2: provider.walltime: "soon" is not a duration`}},
		{"negative duration", "\n[provider]\nwalltime = \"-1h\"\n", []string{"line 3: provider.walltime: -1h0m0s is negative"}},
		{"min above max", "[provider]\nmax_blocks = 2\nmin_blocks = 3\n", []string{"line 3: provider.min_blocks: 3 exceeds provider.max_blocks (2)"}},
		{"soft routing with kubernetes", "container_routing = \"soft\"\n[provider]\ntype = \"kubernetes\"\n", []string{"line 1: container_routing: soft routing is not supported"}},
		{"threshold below period", "heartbeat_period = \"5m\"\n", []string{"heartbeat_threshold: 2m0s must be longer than heartbeat_period (5m0s) (the default)"}},
		{"several at once", "max_workers_per_node = -1\nprefetch_capacity = -2\n", []string{"line 1: max_workers_per_node: -1 is negative", "line 2: prefetch_capacity: -2 is negative"}},
		{"syntax", "display_name = \n", []string{"line 1: TOML syntax:"}},
		{"duplicate key", "display_name = \"a\"\ndisplay_name = \"b\"\n", []string{"line 2: display_name: key display_name is already defined"}},
		{"bad service URL", "service_url = \"funcx.example.org\"\n", []string{`line 1: service_url: "funcx.example.org" is not an http(s) URL`}},
		{"negative stop grace", "\nstop_grace = \"-5s\"\n", []string{"line 2: stop_grace: -5s is negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode("/home/u/.funcx/x/config.toml", []byte(tc.doc))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConfigError", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "/home/u/.funcx/x/config.toml is not a valid endpoint configuration:\n") {
				t.Fatalf("message does not name the file: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
		})
	}
}

// The template documents every key of File (derived from the struct
// tags, so a key added to endpoint.Config without documentation fails
// here), each in its table, and nothing else.
func TestTemplateDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	tmpl := Template("demo")
	documented := map[string]bool{}
	table := ""
	header := regexp.MustCompile(`^# \[([a-z_.]+)\]$`)
	option := regexp.MustCompile(`^# ([a-z_]+) = `)
	for line := range strings.SplitSeq(tmpl, "\n") {
		if m := header.FindStringSubmatch(line); m != nil {
			table = m[1]
			documented[table] = true
			continue
		}
		if m := option.FindStringSubmatch(line); m != nil {
			key := m[1]
			if table != "" {
				key = table + "." + key
			}
			if documented[key] {
				t.Errorf("%s is listed twice", key)
			}
			documented[key] = true
		}
	}
	for _, k := range Keys() {
		if !documented[k.Name] {
			t.Errorf("the template does not document %s", k.Name)
		}
		delete(documented, k.Name)
	}
	for k := range documented {
		t.Errorf("the template documents %s, which is not a key", k)
	}
}

// Uncommenting every option of the template gives a valid configuration
// equal to the defaults: the documented defaults are the real ones.
func TestTemplateDefaultsAreTheDefaults(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	uncomment := regexp.MustCompile(`^# (\[[a-z_.]+\]|[a-z_]+ = .*)$`)
	for line := range strings.SplitSeq(Template("demo"), "\n") {
		if m := uncomment.FindStringSubmatch(line); m != nil {
			line = m[1]
		}
		b.WriteString(line + "\n")
	}
	f, err := Decode("template", []byte(b.String()))
	if err != nil {
		t.Fatalf("the uncommented template: %v\n%s", err, b.String())
	}
	got, want := f.Config.WithDefaults(), endpoint.Config{}.WithDefaults()
	got.Logger, want.Logger = nil, nil
	// Documented as placeholders rather than defaults.
	got.DisplayName = ""
	if f.ServiceURL == "" || f.StopGrace != endpoint.DefaultStopGrace || !equalConfig(got, want) {
		t.Fatalf("the template's values differ from the defaults:\n got  %+v\n want %+v", got, want)
	}
	if _, err := Decode("empty", nil); err != nil {
		t.Fatalf("an empty config.toml: %v", err)
	}
	if _, err := Decode("template", []byte(Template("demo"))); err != nil {
		t.Fatalf("the template as written: %v", err)
	}
}

// The problem of the value the file sets comes first, and no value the
// file sets is called "(the default)": max_blocks = -1 also makes the
// default min_blocks and init_blocks exceed it, which follows from the
// bad value and is not reported beside it.
func TestDecodeBadValueFirst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		want      []string // every problem, in order
	}{
		{"negative max_blocks", "display_name = \"x\"\n[provider]\nmax_blocks = -1\n",
			[]string{"line 3: provider.max_blocks: -1 must be at least 1"}},
		{"set value before defaults", "container_routing = \"soft\"\n[provider]\ntype = \"kubernetes\"\n",
			[]string{"line 1: container_routing: soft routing is not supported", "interchange_addr: ", "provider.kubernetes.image: required"}},
		{"a default against a valid set value", "heartbeat_period = \"5m\"\n",
			[]string{"heartbeat_threshold: 2m0s must be longer than heartbeat_period (5m0s) (the default)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode("config.toml", []byte(tc.doc))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ConfigError", err)
			}
			if len(ce.Problems) != len(tc.want) {
				t.Fatalf("problems %q, want %d", ce.Problems, len(tc.want))
			}
			for i, w := range tc.want {
				if got := ce.Problems[i].String(); !strings.HasPrefix(got, w) {
					t.Errorf("problem %d is %q, want it to start %q", i, got, w)
				}
			}
		})
	}
}

// Every wrong value and unknown key is reported at once, in the order of
// the file, whatever order the decoded tables are walked in; keys of inline
// tables have their full name and their line.
func TestDecodeReportsEveryProblem(t *testing.T) {
	t.Parallel()
	doc := `display_name = 5
heartbeat_period = 30
available_accelerators = [0, 1]
provider = { type = 3, kubernets = { image = "x" } }
[strategy]
max_idletime = "soon"
idle = 1
`
	want := []string{
		"line 1: display_name: want a string, not a TOML integer",
		`line 2: heartbeat_period: want a duration string like "30s", not an integer`,
		"line 3: available_accelerators: want a list of strings, not a TOML integer",
		"line 4: provider.kubernets: unknown key (did you mean provider.kubernetes?)",
		"line 4: provider.type: want a string, not a TOML integer",
		`line 6: strategy.max_idletime: "soon" is not a duration`,
		"line 7: strategy.idle: unknown key",
	}
	for range 5 { // map order varies from run to run
		_, err := Decode("config.toml", []byte(doc))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v, want a *ConfigError", err)
		}
		if len(ce.Problems) != len(want) {
			t.Fatalf("problems:\n%v\nwant %d", err, len(want))
		}
		for i, w := range want {
			if got := ce.Problems[i].String(); !strings.HasPrefix(got, w) {
				t.Errorf("problem %d is %q, want it to start %q", i, got, w)
			}
		}
	}
}
