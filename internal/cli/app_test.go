package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// toy is a grammar with a command that fails as told.
type toy struct {
	Fail failCmd    `cmd:"" help:"Fail with --code."`
	Ok   okCmd      `cmd:"" help:"Succeed."`
	V    VersionCmd `cmd:"" name:"version" help:"Print the version."`
}

type failCmd struct {
	Code  int    `help:"Exit status (0: a plain error)." default:"0"`
	Quiet bool   `help:"Print nothing."`
	Arg   string `arg:"" help:"An argument."`
}

func (f *failCmd) Run() error {
	switch {
	case f.Quiet:
		return &ExitStatus{Code: f.Code}
	case f.Code != 0:
		return &ExitStatus{Code: f.Code, Err: errors.New("failed " + f.Arg)}
	}
	return errors.New("failed " + f.Arg)
}

type okCmd struct{}

func (okCmd) Run(sys *System) error { _, err := sys.Stdout.Write([]byte("ok\n")); return err }

func runToy(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	sys := &System{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	a := &App{Name: "toy", Description: "A toy.", Epilog: "Exit status: 0, 1 or 2.", Hint: func(err error) string {
		if strings.Contains(err.Error(), "hint") {
			return "do this"
		}
		return ""
	}}
	code = a.Run(context.Background(), args, &toy{}, sys)
	return code, out.String(), errOut.String()
}

// Usage errors exit 2 (not kong's 80) with the usage; other errors 1;
// a command's own status passes through.
func TestExitStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args         []string
		code         int
		stderr, skip string
	}{
		{[]string{"ok"}, ExitOK, "", ""},
		{[]string{"explode"}, ExitUsage, "toy: error: unexpected argument explode", ""},
		{[]string{"fail"}, ExitUsage, `toy: error: expected "<arg>"`, ""},
		{[]string{"fail", "x", "--bogus"}, ExitUsage, "toy: error: unknown flag --bogus", ""},
		{[]string{"fail", "x", "--code", "nine"}, ExitUsage, "toy: error: --code: expected a valid 64 bit int", ""},
		{[]string{}, ExitUsage, "toy: error: expected one of", ""},
		{[]string{"fail", "x"}, ExitError, "toy: failed x\n", ""},
		{[]string{"fail", "hint"}, ExitError, "toy: failed hint\ntoy: do this\n", ""},
		{[]string{"fail", "x", "--code", "125"}, 125, "toy: failed x\n", ""},
		{[]string{"fail", "x", "--code", "3", "--quiet"}, 3, "", ""},
	} {
		code, _, stderr := runToy(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) || (tc.stderr == "" && stderr != "") {
			t.Errorf("toy %q: exit %d, stderr %q; want %d, %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
}

// The epilog ends the program's --help, and only that: not a command's
// help, not the usage shown with an error.
func TestEpilog(t *testing.T) {
	t.Parallel()
	code, out, _ := runToy("--help")
	if code != 0 || !strings.HasSuffix(out, "\nExit status: 0, 1 or 2.\n") {
		t.Fatalf("--help: %d %q", code, out)
	}
	if _, out, _ := runToy("fail", "--help"); strings.Contains(out, "Exit status: 0, 1") {
		t.Fatalf("fail --help shows the epilog: %q", out)
	}
	if code, out, _ := runToy("explode"); code != ExitUsage || strings.Contains(out, "Exit status: 0, 1") || !strings.Contains(out, "Usage: toy") {
		t.Fatalf("usage error: %d %q", code, out)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	if code, out, _ := runToy("version"); code != 0 || !strings.HasPrefix(out, "toy ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestInstallCompletionArg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args  []string
		shell string
		ok    bool
		err   string
	}{
		{[]string{"list"}, "", false, ""},
		{[]string{"--install-completion"}, "", true, ""},
		{[]string{"--install-completion", "zsh"}, "zsh", true, ""},
		{[]string{"--install-completion=fish"}, "fish", true, ""},
		{[]string{"--install-completion", "--debug"}, "", true, ""},
		{[]string{"--install-completion", "tcsh"}, "", false, "unknown shell"},
		{[]string{"--install-completion=ksh"}, "", false, "unknown shell"},
		{[]string{"run", "--", "--install-completion"}, "", false, ""},
	} {
		shell, ok, err := InstallCompletionArg(tc.args)
		if shell != tc.shell || ok != tc.ok || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: %q %v %v", tc.args, shell, ok, err)
		}
	}
}
