package cli

import "fmt"

// Exit statuses of every command.
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitError: it failed; the error is on stderr.
	ExitError = 1
	// ExitUsage: the command line is wrong (an unknown command or flag,
	// a missing or bad argument); nothing was done. Kong's own default,
	// 80, is not the Unix habit.
	ExitUsage = 2
)

// ExitStatus is an error that sets the exit status. Err, if set, is
// printed first (with the App's hint); a nil Err exits quietly.
type ExitStatus struct {
	Code int
	Err  error
}

func (e *ExitStatus) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitStatus) Unwrap() error { return e.Err }

// usageError marks a parse error as a usage error for kong, which exits
// with the ExitCode of the first error in the chain that has one.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }
func (usageError) ExitCode() int   { return ExitUsage }
