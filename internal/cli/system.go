package cli

import (
	"io"
	"os"

	"github.com/funcx-go/funcx/internal/tty"
)

// System is what a command gets from the process; tests replace it.
type System struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment.
	Getenv func(string) string
	// Term asks the user; nil when stdin is not a terminal.
	Term tty.Terminal
	// Complete runs shell completion when the shell asks for it.
	Complete bool
	// Executable is this program (re-run as a daemon, named in
	// completion scripts).
	Executable func() (string, error)
}

// OS is the real process.
func OS() *System {
	return &System{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Term: tty.Open(), Complete: true, Executable: os.Executable}
}
