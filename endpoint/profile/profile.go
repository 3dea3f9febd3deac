package profile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// DefaultName is the profile used when a command names none.
const DefaultName = "default"

// File names in a profile directory.
const (
	ConfigFile   = "config.toml"
	EndpointFile = "endpoint.json"
	PIDFile      = "daemon.pid"
	RunFile      = "run.json"
	LogFile      = "endpoint.log"
	JournalFile  = "journal.db"
)

// ErrExists is returned by Create for a profile that already exists.
var ErrExists = errors.New("profile already exists")

// ErrNotConfigured is returned for a profile without a config.toml.
var ErrNotConfigured = errors.New("profile is not configured")

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Profile is one endpoint profile: the directory Home/Name.
type Profile struct {
	Home string
	Name string
}

// New returns the profile name in home; it checks the name only.
func New(home, name string) (*Profile, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("profile name %q: use letters, digits, '_', '.' and '-' (at most 128, not starting with '.', '_' or '-')", name)
	}
	return &Profile{Home: home, Name: name}, nil
}

// Dir is the profile's directory.
func (p *Profile) Dir() string { return filepath.Join(p.Home, p.Name) }

// Path is the path of a file in the profile's directory.
func (p *Profile) Path(file string) string { return filepath.Join(p.Dir(), file) }

// Create makes the profile's directory (mode 0700) and writes its
// config.toml from Template. An existing config.toml is never
// overwritten: ErrExists.
func (p *Profile) Create() error {
	if err := os.MkdirAll(p.Dir(), 0o700); err != nil {
		return fmt.Errorf("create profile %s: %w", p.Name, err)
	}
	f, err := os.OpenFile(p.Path(ConfigFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create profile %s: %s: %w", p.Name, p.Path(ConfigFile), ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create profile %s: %w", p.Name, err)
	}
	_, err = f.WriteString(Template(p.Name))
	if err = errors.Join(err, f.Close()); err != nil {
		_ = os.Remove(p.Path(ConfigFile))
		return fmt.Errorf("create profile %s: %w", p.Name, err)
	}
	return nil
}

// Exists reports whether the profile has a config.toml.
func (p *Profile) Exists() bool {
	_, err := os.Stat(p.Path(ConfigFile))
	return err == nil
}

// Load decodes the profile's config.toml (see Decode).
func (p *Profile) Load() (File, error) {
	if !p.Exists() {
		return File{}, fmt.Errorf("%w: %s does not exist; run `funcx-endpoint configure %s`", ErrNotConfigured, p.Path(ConfigFile), p.Name)
	}
	return LoadFile(p.Path(ConfigFile))
}

// List returns the names of the profiles in home (directories holding a
// config.toml), sorted. A missing home holds none.
func List(home string) ([]string, error) {
	entries, err := os.ReadDir(home)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || !validName.MatchString(e.Name()) {
			continue
		}
		if _, err := os.Stat(filepath.Join(home, e.Name(), ConfigFile)); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Registration is endpoint.json: what the service said when the endpoint
// was first registered. Its ID is reused by every later start.
type Registration struct {
	EndpointID string `json:"endpoint_id"`
	// ServiceURL is the service that issued the ID.
	ServiceURL string `json:"service_url,omitempty"`
	// Owner is the identity that registered the endpoint (its ID and
	// name), for a clear message when another identity tries to start it.
	OwnerID      string    `json:"owner_id,omitempty"`
	OwnerName    string    `json:"owner_name,omitempty"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
}

// Registration reads endpoint.json; ok is false if the endpoint was never
// registered.
func (p *Profile) Registration() (r Registration, ok bool, err error) {
	ok, err = readJSON(p.Path(EndpointFile), &r)
	if err == nil && ok && r.EndpointID == "" {
		return r, false, fmt.Errorf("%s holds no endpoint_id: remove it to register a new endpoint", p.Path(EndpointFile))
	}
	return r, ok, err
}

// SaveRegistration writes endpoint.json.
func (p *Profile) SaveRegistration(r Registration) error {
	return writeJSON(p.Path(EndpointFile), r)
}

// readJSON decodes a small JSON file; ok is false if it does not exist.
func readJSON(path string, v any) (ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// writeJSON replaces path atomically with v as JSON (mode 0600).
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
