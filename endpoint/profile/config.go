package profile

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/funcx-go/funcx/endpoint"
)

// MaxConfigBytes bounds config.toml: a profile is a few kilobytes.
const MaxConfigBytes = 1 << 20

// File is a profile's config.toml: the keys of endpoint.Config, at the top
// level and in their tables, plus the profile-level keys that only
// funcx-endpoint reads (service_url, stop_grace, broker_ca_file). Every key is optional.
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

	// BrokerCAFile is a PEM file of CA certificates trusted, besides the
	// system's, for the certificate of the broker (RabbitMQ) when the
	// service hands the endpoint an amqps:// URL. A relative path is
	// relative to the profile directory. Defaults to the service's CA
	// file (--ca-file, $FUNCX_CA_FILE, or the one saved by login), else
	// the system's roots only.
	BrokerCAFile string `toml:"broker_ca_file"`

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
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return out, &ConfigError{Path: path, Problems: []Problem{syntaxProblem(err)}}
	}
	lines := keyLines(data)
	if problems := decodeTables(doc, lines, reflect.ValueOf(&out).Elem()); len(problems) > 0 {
		return File{}, &ConfigError{Path: path, Problems: problems}
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
