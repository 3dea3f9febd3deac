package client_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/client"
)

func TestCredentials(t *testing.T) {
	t.Parallel()
	creds := client.Credentials{ServiceURL: "https://funcx.example.org", ClientID: "id", ClientSecret: "secret", CAFile: "/etc/campus-ca.pem"}
	if cfg := creds.Config(); cfg.CAFile != creds.CAFile || cfg.ServiceURL != creds.ServiceURL {
		t.Errorf("Config() = %+v, want the CA file and service URL of %+v", cfg, creds)
	}

	t.Run("save and load", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "home", client.CredentialsFile)
		if err := creds.Save(path); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", st.Mode(), err)
		}
		if dir, _ := os.Stat(filepath.Dir(path)); dir.Mode().Perm() != 0o700 {
			t.Fatalf("directory mode %v, want 0700", dir.Mode())
		}
		got, err := client.LoadCredentials(path)
		if err != nil || got != creds {
			t.Fatalf("Load = %+v, %v", got, err)
		}
		// Saving again replaces the file.
		tok := client.Credentials{ServiceURL: creds.ServiceURL, Token: "tok"}
		if err := tok.Save(path); err != nil {
			t.Fatal(err)
		}
		if got, _ := client.LoadCredentials(path); got != tok {
			t.Fatalf("Load after a second Save = %+v", got)
		}
		if had, err := client.DeleteCredentials(path); !had || err != nil {
			t.Fatalf("Delete = %v, %v", had, err)
		}
		if had, err := client.DeleteCredentials(path); had || err != nil {
			t.Fatalf("second Delete = %v, %v", had, err)
		}
	})

	t.Run("refuses a file others can read", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), client.CredentialsFile)
		if err := creds.Save(path); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := client.LoadCredentials(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("Load = %v, want an error saying to chmod", err)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		if _, err := client.LoadCredentials(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Load = %v, want fs.ErrNotExist", err)
		}
	})
}

func TestResolveCredentials(t *testing.T) {
	t.Parallel()
	saved := client.Credentials{ServiceURL: "https://saved", ClientID: "saved-id", ClientSecret: "saved-secret"}
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		name    string
		save    bool
		getenv  func(string) string
		want    client.Credentials
		wantErr error
	}{
		{"saved", true, env(), saved, nil},
		{"environment overrides", true, env(client.EnvServiceURL, "https://env", client.EnvClientID, "env-id", client.EnvClientSecret, "env-secret"),
			client.Credentials{ServiceURL: "https://env", ClientID: "env-id", ClientSecret: "env-secret"}, nil},
		{"environment only", false, env(client.EnvClientID, "env-id", client.EnvClientSecret, "env-secret"),
			client.Credentials{ClientID: "env-id", ClientSecret: "env-secret"}, nil},
		{"CA file from the environment", true, env(client.EnvCAFile, "/etc/campus-ca.pem"),
			client.Credentials{ServiceURL: "https://saved", ClientID: "saved-id", ClientSecret: "saved-secret", CAFile: "/etc/campus-ca.pem"}, nil},
		{"not logged in", false, env(client.EnvServiceURL, "https://env"), client.Credentials{ServiceURL: "https://env"}, client.ErrNotLoggedIn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			if tc.save {
				if err := saved.Save(filepath.Join(home, client.CredentialsFile)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := client.ResolveCredentials(home, tc.getenv)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("Resolve = %+v, %v; want %+v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	t.Run("half an identity", func(t *testing.T) {
		t.Parallel()
		if _, err := client.ResolveCredentials(t.TempDir(), env(client.EnvClientID, "id")); err == nil || !strings.Contains(err.Error(), client.EnvClientSecret) {
			t.Fatalf("Resolve = %v, want an error naming %s", err, client.EnvClientSecret)
		}
	})
	t.Run("home", func(t *testing.T) {
		t.Parallel()
		if h, _ := client.Home(env(client.EnvHome, "/x")); h != "/x" {
			t.Fatalf("Home = %q", h)
		}
		if h, _ := client.Home(env("HOME", "/home/u")); h != "/home/u/.funcx" {
			t.Fatalf("Home = %q", h)
		}
	})
}
