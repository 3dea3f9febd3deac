package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/funcx-go/funcx/internal/tty"
	"io"
	"log/slog"
	"net/url"
	"os"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"

	"github.com/funcx-go/funcx/client"
)

// cli is the command line: global flags and one field per subcommand.
type cli struct {
	ServiceURL string `name:"service-url" placeholder:"URL" help:"Service URL. Default: $FUNCX_SERVICE_URL, else the one saved by login."`
	Debug      bool   `help:"Log the SDK's requests and retries to stderr."`

	Login              loginCmd                     `cmd:"" help:"Save credentials for the service after checking them."`
	Logout             logoutCmd                    `cmd:"" help:"Remove the saved credentials."`
	Whoami             whoamiCmd                    `cmd:"" help:"Show whom the credentials belong to."`
	RegisterFunction   registerFunctionCmd          `cmd:"" name:"register-function" help:"Register a function and print its ID."`
	Run                runCmd                       `cmd:"" help:"Run a command (or, with --python, a Python function) on an endpoint, print its output and exit with its status."`
	Submit             submitCmd                    `cmd:"" help:"Submit tasks of a registered function and print their IDs."`
	Status             statusCmd                    `cmd:"" help:"Show the state of tasks."`
	Result             resultCmd                    `cmd:"" help:"Print the results of tasks as JSON lines."`
	Endpoint           endpointCmd                  `cmd:"" help:"List endpoints or show one."`
	Version            versionCmd                   `cmd:"" help:"Print the version."`
	InstallCompletions kongplete.InstallCompletions `cmd:"" name:"install-completions" help:"Print the shell completion setup for your login shell (eval it or add it to your shell's rc file)."`
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
}

// osSystem is the real process.
func osSystem() *system {
	return &system{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, term: tty.Open(), complete: true}
}

// env is bound into every command's Run.
type env struct {
	ctx context.Context
	sys *system
	cli *cli
}

// exitStatus is an error that only sets the exit status (`run` passes on
// the remote command's); message, if any, is printed first.
type exitStatus struct {
	code    int
	message string
}

func (e *exitStatus) Error() string { return e.message }

// kongExit carries kong's exit code out of a parse (help, version) as a
// panic, since kong expects Exit not to return.
type kongExit int

// runApp parses args, runs the command and returns the exit status.
func runApp(ctx context.Context, args []string, sys *system) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("funcx"),
		kong.Description("Run functions on funcX endpoints. Credentials come from `funcx login` or from $FUNCX_SDK_CLIENT_ID and $FUNCX_SDK_CLIENT_SECRET; $FUNCX_HOME (default ~/.funcx) holds credentials.json."),
		kong.Writers(sys.stdout, sys.stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(sys.stderr, "funcx: build the command line: %v\n", err)
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
		kongplete.Complete(parser)
	}
	kctx, err := parser.Parse(args)
	parser.FatalIfErrorf(err)
	err = kctx.Run(&env{ctx: ctx, sys: sys, cli: &c})
	if err == nil {
		return 0
	}
	var es *exitStatus
	if errors.As(err, &es) {
		if es.message != "" {
			fmt.Fprintf(sys.stderr, "funcx: %s\n", es.message)
		}
		return es.code
	}
	fmt.Fprintf(sys.stderr, "funcx: %v\n", err)
	if hint := hintFor(err); hint != "" {
		fmt.Fprintf(sys.stderr, "funcx: %s\n", hint)
	}
	return 1
}

// hintFor says what to do about common failures.
func hintFor(err error) string {
	var ue *url.Error
	switch {
	case errors.Is(err, client.ErrUnauthorized):
		return "the service refused the credentials: run `funcx login` again, or check " + client.EnvClientID + " and " + client.EnvClientSecret
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.As(err, &ue) && !errors.Is(err, context.DeadlineExceeded):
		return "is the service up and the URL right? Set it with --service-url, " + client.EnvServiceURL + " or `funcx login`"
	}
	return ""
}

// credentials resolves what the commands authenticate with: saved
// credentials, the environment, then --service-url.
func (e *env) credentials() (client.Credentials, error) {
	home, err := client.Home(e.sys.getenv)
	if err != nil {
		return client.Credentials{}, err
	}
	creds, err := client.ResolveCredentials(home, e.sys.getenv)
	if e.cli.ServiceURL != "" {
		creds.ServiceURL = e.cli.ServiceURL
	}
	if err != nil {
		return creds, err
	}
	if creds.ServiceURL == "" {
		return creds, errors.New("no service URL: pass --service-url, set " + client.EnvServiceURL + " or run `funcx login`")
	}
	return creds, nil
}

// withClient calls fn with a client of the resolved credentials and
// closes it after.
func (e *env) withClient(fn func(*client.Client) error) error {
	creds, err := e.credentials()
	if err != nil {
		return err
	}
	return e.withClientFor(creds, fn)
}

// withClientFor calls fn with a client for creds, logging to stderr with
// --debug, and closes it after.
func (e *env) withClientFor(creds client.Credentials, fn func(*client.Client) error) error {
	cfg := creds.Config()
	if e.cli.Debug {
		cfg.Logger = slog.New(slog.NewTextHandler(e.sys.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}
