package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/funcx-go/funcx/endpoint"
)

// MaxConfigBytes bounds config.toml: a profile is a few kilobytes.
const MaxConfigBytes = 1 << 20

// File is a profile's config.toml: the keys of endpoint.Config, at the top
// level and in their tables, plus the profile-level keys that only
// funcx-endpoint reads (service_url, stop_grace). Every key is optional.
//
//	service_url = "https://funcx.example.org"
//	display_name = "cluster login node"
//	max_workers_per_node = 8
//	[provider]
//	max_blocks = 4
type File struct {
	// ServiceURL is the funcX service the endpoint registers with.
	// $FUNCX_SERVICE_URL overrides it. Defaults to the URL saved in
	// $FUNCX_HOME/credentials.json (asked for on the first start).
	ServiceURL string `toml:"service_url"`

	// StopGrace is how long a stop lets tasks in flight finish and
	// their results reach the broker (endpoint.RunConfig.StopGrace).
	// Defaults to endpoint.DefaultStopGrace (30s).
	StopGrace time.Duration `toml:"stop_grace"`

	// Config holds every other key: see endpoint.Config.
	endpoint.Config
}

// LoadFile reads and decodes a config.toml; see Decode.
func LoadFile(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("read the endpoint configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return File{}, fmt.Errorf("read the endpoint configuration %s: %w", path, err)
	}
	if len(data) > MaxConfigBytes {
		return File{}, &ConfigError{Path: path, Problems: []Problem{{Message: fmt.Sprintf("larger than %d bytes", MaxConfigBytes)}}}
	}
	return Decode(path, data)
}

// Decode decodes a config.toml strictly: unknown keys, values of the
// wrong type, durations without a unit and impossible values
// (endpoint.Config.Validate) are all errors, returned together as a
// *ConfigError naming each key and its line. path is only used in
// messages. The returned File holds the values as written; defaults are
// applied by endpoint.Config.WithDefaults.
func Decode(path string, data []byte) (File, error) {
	var out File
	lines, problems := scan(data)
	if len(problems) > 0 {
		return out, &ConfigError{Path: path, Problems: problems}
	}
	if err := decodeStrict(data, &out); err != nil {
		return File{}, &ConfigError{Path: path, Problems: decodeProblems(err)}
	}

	cfg := out.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return out, &ConfigError{Path: path, Problems: validateProblems(err, lines)}
	}
	if err := checkServiceURL(out.ServiceURL); err != nil {
		return out, &ConfigError{Path: path, Problems: []Problem{{Key: "service_url", Line: lines["service_url"], Message: err.Error()}}}
	}
	if out.StopGrace < 0 {
		return out, &ConfigError{Path: path, Problems: []Problem{{Key: "stop_grace", Line: lines["stop_grace"],
			Message: fmt.Sprintf("%s is negative", out.StopGrace)}}}
	}
	return out, nil
}

// scan walks the document's syntax tree before decoding: it records the
// line of every key, and reports what go-toml would misreport: a duration
// given as a number (go-toml loses the position then) and a syntax error.
func scan(data []byte) (map[string]int, []Problem) {
	keys := map[string]Key{}
	for _, k := range Keys() {
		keys[k.Name] = k
	}
	lines := map[string]int{}
	var problems []Problem
	var p unstable.Parser
	p.Reset(data)
	var table []string
	var visit func(prefix []string, kv *unstable.Node)
	visit = func(prefix []string, kv *unstable.Node) {
		name, line := keyOf(&p, kv.Key())
		full := append(slices.Clone(prefix), name...)
		dotted := strings.Join(full, ".")
		if _, seen := lines[dotted]; !seen {
			lines[dotted] = line
		}
		v := kv.Value()
		if v.Kind == unstable.InlineTable {
			it := v.Children()
			for it.Next() {
				if n := it.Node(); n.Kind == unstable.KeyValue {
					visit(full, n)
				}
			}
			return
		}
		if k, ok := keys[dotted]; ok && k.Type == durationType && v.Kind != unstable.String {
			problems = append(problems, Problem{Key: dotted, Line: line,
				Message: fmt.Sprintf("want %s, not %s", describe(k.Type), kindName(v.Kind))})
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var line int
			table, line = keyOf(&p, e.Key())
			dotted := strings.Join(table, ".")
			if _, seen := lines[dotted]; !seen {
				lines[dotted] = line
			}
		case unstable.KeyValue:
			visit(table, e)
		}
	}
	if err := p.Error(); err != nil {
		var pe *unstable.ParserError
		msg := err.Error()
		line := 0
		if errors.As(err, &pe) {
			msg = pe.Message
			if len(pe.Highlight) > 0 {
				line = lineOf(data, pe.Highlight)
			}
		}
		problems = append(problems, Problem{Line: line, Message: "TOML syntax: " + msg})
	}
	return lines, problems
}

// keyOf returns the parts of a key and the line it starts on.
func keyOf(p *unstable.Parser, it unstable.Iterator) ([]string, int) {
	var parts []string
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = p.Shape(n.Raw).Start.Line
		}
		parts = append(parts, string(n.Data))
	}
	return parts, line
}

// lineOf returns the line of sub, a subslice of data; 0 if it is not one.
func lineOf(data, sub []byte) int {
	off := cap(data) - cap(sub)
	if off < 0 || off > len(data) {
		return 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

func kindName(k unstable.Kind) string {
	switch k {
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a number"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "a list"
	case unstable.InlineTable:
		return "a table"
	case unstable.String:
		return "a string"
	}
	return "a date or time"
}

// checkServiceURL accepts an empty URL (taken from elsewhere) or an
// http(s) URL with a host.
func checkServiceURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL with a host, like \"https://funcx.example.org\"", s)
	}
	return nil
}
