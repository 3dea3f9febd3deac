package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Environment variables that the CLIs (funcx, funcx-endpoint) read.
const (
	// EnvHome is the funcX home directory. Defaults to $HOME/.funcx.
	EnvHome = "FUNCX_HOME"
	// EnvServiceURL is the service URL; it overrides the saved one.
	EnvServiceURL = "FUNCX_SERVICE_URL"
	// EnvClientID and EnvClientSecret are a client identity's
	// credentials; set together, they override the saved credentials.
	EnvClientID     = "FUNCX_SDK_CLIENT_ID"
	EnvClientSecret = "FUNCX_SDK_CLIENT_SECRET"
	// EnvCAFile is a PEM file of CA certificates to trust besides the
	// system's, for a service (and, for an endpoint, a broker) whose
	// certificate a private CA signed; it overrides the saved one.
	EnvCAFile = "FUNCX_CA_FILE"
)

// CredentialsFile is the name of the credentials file in the home
// directory.
const CredentialsFile = "credentials.json"

// ErrNotLoggedIn is returned by ResolveCredentials when neither the
// environment nor the credentials file holds credentials.
var ErrNotLoggedIn = errors.New("not logged in: run `funcx login` or set " + EnvClientID + " and " + EnvClientSecret)

// Credentials are what `funcx login` saves in $FUNCX_HOME/credentials.json
// (mode 0600) and what both CLIs use to build a Client: the service URL
// and either a client identity's ID and secret or a bearer token.
//
//	{"service_url": "https://funcx.example.org", "client_id": "…", "client_secret": "…"}
//
// CAFile, saved when login was given one, is the private CA the
// service's certificate is checked against (Config.CAFile).
type Credentials struct {
	ServiceURL   string `json:"service_url"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	Token        string `json:"token,omitempty"`
	CAFile       string `json:"ca_file,omitempty"`
}

// Config returns a client Config with these credentials; set the other
// fields on the result.
func (c Credentials) Config() Config {
	return Config{ServiceURL: c.ServiceURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Token: c.Token, CAFile: c.CAFile}
}

// HasSecret reports whether c holds a credential (not only a URL).
func (c Credentials) HasSecret() bool {
	return c.Token != "" || (c.ClientID != "" && c.ClientSecret != "")
}

// Home returns the funcX home directory: $FUNCX_HOME, else $HOME/.funcx.
// getenv reads the environment; nil means os.Getenv.
func Home(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if h := getenv(EnvHome); h != "" {
		return h, nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("find the funcX home: set %s or HOME: %w", EnvHome, err)
		}
	}
	return filepath.Join(home, ".funcx"), nil
}

// LoadCredentials reads a credentials file. A missing file is an error
// matching fs.ErrNotExist. A file that others may read is refused, since
// it holds a secret.
func LoadCredentials(path string) (Credentials, error) {
	var c Credentials
	f, err := os.Open(path)
	if err != nil {
		return c, fmt.Errorf("load credentials: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return c, fmt.Errorf("load credentials: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return c, fmt.Errorf("load credentials: %s has mode %04o, readable by others: run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	data, err := readAll(f, 1<<20)
	if err != nil {
		return c, fmt.Errorf("load credentials from %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("load credentials from %s: %w (run `funcx login` to rewrite it)", path, err)
	}
	return c, nil
}

// Save writes c to path with mode 0600, creating its directory (mode 0700)
// if needed. The file is replaced atomically, so a crash never leaves half
// a file.
func (c Credentials) Save(path string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	// CreateTemp makes the file 0600 already; Chmod states the intent
	// and survives a different umask handling.
	err = errors.Join(tmp.Chmod(0o600), write(tmp, append(data, '\n')), tmp.Sync(), tmp.Close())
	if err != nil {
		return fmt.Errorf("save credentials to %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

func write(f *os.File, data []byte) error {
	_, err := f.Write(data)
	return err
}

// DeleteCredentials removes a credentials file; it reports whether there
// was one.
func DeleteCredentials(path string) (bool, error) {
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete credentials: %w", err)
	}
	return true, nil
}

// ResolveCredentials returns the credentials a CLI should use: those saved
// in home's credentials file, with the service URL replaced by
// $FUNCX_SERVICE_URL, the CA file by $FUNCX_CA_FILE, and the client
// identity by $FUNCX_SDK_CLIENT_ID and $FUNCX_SDK_CLIENT_SECRET when set. It returns ErrNotLoggedIn when no
// credential is found; the service URL may still be empty. getenv reads
// the environment; nil means os.Getenv.
func ResolveCredentials(home string, getenv func(string) string) (Credentials, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c, err := LoadCredentials(filepath.Join(home, CredentialsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return c, err
	}
	if u := getenv(EnvServiceURL); u != "" {
		c.ServiceURL = u
	}
	if f := getenv(EnvCAFile); f != "" {
		c.CAFile = f
	}
	id, secret := getenv(EnvClientID), getenv(EnvClientSecret)
	switch {
	case id != "" && secret != "":
		c.ClientID, c.ClientSecret, c.Token = id, secret, ""
	case id != "" || secret != "":
		return c, fmt.Errorf("only one of %s and %s is set: set both", EnvClientID, EnvClientSecret)
	}
	if !c.HasSecret() {
		return c, ErrNotLoggedIn
	}
	return c, nil
}
