package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/version"
)

// LogoutCmd removes the saved credentials.
type LogoutCmd struct{}

func (LogoutCmd) Run(s *Session) error {
	home, err := s.Home()
	if err != nil {
		return err
	}
	path := filepath.Join(home, client.CredentialsFile)
	had, err := client.DeleteCredentials(path)
	if err != nil {
		return err
	}
	if had {
		fmt.Fprintf(s.Sys.Stdout, "Logged out: removed %s.\n", path)
	} else {
		fmt.Fprintf(s.Sys.Stdout, "Not logged in: %s does not exist.\n", path)
	}
	if s.Sys.Getenv(client.EnvClientID) != "" {
		fmt.Fprintf(s.Sys.Stderr, "%s: %s is still set: commands keep using it.\n", s.Name, client.EnvClientID)
	}
	return nil
}

// WhoamiCmd shows whom the credentials belong to.
type WhoamiCmd struct{}

func (WhoamiCmd) Run(s *Session) error {
	creds, err := s.Credentials()
	if err != nil {
		return err
	}
	who, err := s.Whoami(s.Ctx, creds)
	if err != nil {
		return err
	}
	return PrintFields(s.Sys.Stdout, [][2]string{
		{"Name", who.Name},
		{"ID", who.ID},
		{"Client ID", who.ClientID},
		{"Service", creds.ServiceURL},
	})
}

// VersionCmd prints the version.
type VersionCmd struct{}

func (VersionCmd) Run(a *App, sys *System) error {
	_, err := fmt.Fprintln(sys.Stdout, version.String(a.Name))
	return err
}

// PrintFields prints aligned "Key: value" lines.
func PrintFields(w io.Writer, fields [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}
