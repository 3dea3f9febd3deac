package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/funcx-go/funcx/internal/tty"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/tlsconf"
)

// cli is the command line: global flags and one field per subcommand.
type cli struct {
	Debug        bool   `help:"Log debug detail (the SDK's requests; the daemon's log level)."`
	LogToConsole bool   `name:"log-to-console" help:"Also write the endpoint's log to the console (start: until the daemon is up; start --foreground: all along)."`
	CAFile       string `name:"ca-file" placeholder:"FILE" type:"path" help:"PEM certificate of a private CA that signed the service's certificate (and the broker's, unless broker_ca_file in config.toml names another), trusted besides the system's. Default: $FUNCX_CA_FILE, else the one saved by login."`
	// InstallCompletion is handled before parsing (its shell is
	// optional); it is declared here for --help.
	InstallCompletion string `name:"install-completion" placeholder:"bash|zsh|fish" help:"Install shell completion for funcx-endpoint (default: your login shell) and exit."`

	Configure configureCmd `cmd:"" help:"Create an endpoint profile: $FUNCX_HOME/NAME/config.toml with every option documented."`
	Start     startCmd     `cmd:"" help:"Register the endpoint and start it in the background; prints its ID once it is up."`
	Stop      stopCmd      `cmd:"" help:"Stop the endpoint (waits until it is gone), or clean up after an unclean stop."`
	Restart   restartCmd   `cmd:"" help:"Stop the endpoint, then start it."`
	List      listCmd      `cmd:"" help:"List the endpoint profiles on this machine with their status."`
	Delete    deleteCmd    `cmd:"" help:"Delete an endpoint: deregister it from the service and remove its profile."`
	Login     loginCmd     `cmd:"" help:"Save credentials for the service after checking them."`
	Logout    logoutCmd    `cmd:"" help:"Remove the saved credentials."`
	Whoami    whoamiCmd    `cmd:"" help:"Show whom the credentials belong to."`
	Version   versionCmd   `cmd:"" help:"Print the version."`

	Daemon daemonCmd `cmd:"" hidden:"" help:"Run an endpoint as the daemon that start launches (internal)."`
}

// system is what the commands get from the process, replaced in tests.
type system struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// term asks the user; nil when stdin is not a terminal.
	term tty.Terminal
	// complete runs shell completion when the shell asks for it.
	complete bool
	// executable is this program, re-run as the daemon.
	executable func() (string, error)
}

// osSystem is the real process.
func osSystem() *system {
	return &system{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		term: tty.Open(), complete: true, executable: os.Executable}
}

// env is bound into every command's Run.
type env struct {
	ctx context.Context
	sys *system
	cli *cli
}

// kongExit carries kong's exit code out of a parse (help) as a panic,
// since kong expects Exit not to return.
type kongExit int

// exitCode is an error that sets the exit status; its message, if any,
// is printed first.
type exitCode struct {
	code int
	err  error
}

func (e *exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCode) Unwrap() error { return e.err }

const description = "Manage funcX endpoints on this machine. Profiles live in $FUNCX_HOME (default ~/.funcx): " +
	"NAME/config.toml (written by configure), NAME/endpoint.json, NAME/daemon.pid, NAME/endpoint.log; " +
	"credentials.json holds the cached credentials. FUNCX_SDK_CLIENT_ID and FUNCX_SDK_CLIENT_SECRET select a client identity; " +
	"FUNCX_SERVICE_URL the service."

// runApp parses args, runs the command and returns the exit status.
func runApp(ctx context.Context, args []string, sys *system) (code int) {
	if shell, ok, err := installCompletionArg(args); ok || err != nil {
		if err == nil {
			err = installCompletion(sys, shell)
		}
		if err != nil {
			fmt.Fprintf(sys.stderr, "funcx-endpoint: %v\n", err)
			return 1
		}
		return 0
	}
	var c cli
	parser, err := kong.New(&c,
		kong.Name("funcx-endpoint"),
		kong.Description(description),
		kong.Writers(sys.stdout, sys.stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(sys.stderr, "funcx-endpoint: build the command line: %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			k, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code = int(k)
		}
	}()
	if sys.complete {
		kongplete.Complete(parser, kongplete.WithPredictor("profile", complete.PredictFunc(func(complete.Args) []string {
			home, err := client.Home(sys.getenv)
			if err != nil {
				return nil
			}
			names, _ := profile.List(home)
			return names
		})))
	}
	kctx, err := parser.Parse(args)
	parser.FatalIfErrorf(err)
	err = kctx.Run(&env{ctx: ctx, sys: sys, cli: &c})
	if err == nil {
		return 0
	}
	code = 1
	var ec *exitCode
	if errors.As(err, &ec) {
		code = ec.code
		if ec.err == nil {
			return code
		}
	}
	fmt.Fprintf(sys.stderr, "funcx-endpoint: %v\n", err)
	if hint := hintFor(err); hint != "" {
		fmt.Fprintf(sys.stderr, "funcx-endpoint: %s\n", hint)
	}
	return code
}

// installCompletionArg finds --install-completion [SHELL] in args. Its
// value is optional, which kong flags cannot express.
func installCompletionArg(args []string) (shell string, ok bool, err error) {
	for i, a := range args {
		switch {
		case a == "--":
			return "", false, nil
		case a == "--install-completion":
			if i+1 < len(args) && slices.Contains(shells, args[i+1]) {
				return args[i+1], true, nil
			}
			if i+1 < len(args) && args[i+1] != "" && args[i+1][0] != '-' {
				return "", false, fmt.Errorf("--install-completion: unknown shell %q: use bash, zsh or fish", args[i+1])
			}
			return "", true, nil
		case len(a) > len("--install-completion=") && a[:len("--install-completion=")] == "--install-completion=":
			shell = a[len("--install-completion="):]
			if !slices.Contains(shells, shell) {
				return "", false, fmt.Errorf("--install-completion: unknown shell %q: use bash, zsh or fish", shell)
			}
			return shell, true, nil
		}
	}
	return "", false, nil
}

// hintFor says what to do about common failures.
func hintFor(err error) string {
	var ue *url.Error
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		return "the service refused the credentials: run `funcx-endpoint login` again, or check " + client.EnvClientID + " and " + client.EnvClientSecret
	case errors.Is(err, client.ErrCertificate):
		return tlsconf.CLIHint("funcx-endpoint", err)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &ue) && !errors.Is(err, context.DeadlineExceeded):
		return "is the service up and its URL right? Set it with service_url in config.toml, " + client.EnvServiceURL + " or `funcx-endpoint login`"
	}
	return ""
}

// home is $FUNCX_HOME, else ~/.funcx, made absolute (the daemon runs in /).
func (e *env) home() (string, error) {
	h, err := client.Home(e.sys.getenv)
	if err != nil {
		return "", err
	}
	return filepath.Abs(h)
}

// profile returns the named profile (default when name is empty).
func (e *env) profile(name string) (*profile.Profile, error) {
	home, err := e.home()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = profile.DefaultName
	}
	return profile.New(home, name)
}
