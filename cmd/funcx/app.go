package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/willabides/kongplete"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/internal/cli"
)

// grammar is the command line: global flags and one field per
// subcommand.
type grammar struct {
	ServiceURL string `name:"service-url" placeholder:"URL" help:"Service URL. Default: $FUNCX_SERVICE_URL, else the one saved by login."`
	CAFile     string `name:"ca-file" placeholder:"FILE" type:"path" help:"PEM certificate of a private CA that signed the service's certificate, trusted besides the system's. Default: $FUNCX_CA_FILE, else the one saved by login."`
	Debug      bool   `help:"Log the SDK's requests and retries to stderr."`

	Login              loginCmd                     `cmd:"" help:"Save credentials for the service after checking them."`
	Logout             cli.LogoutCmd                `cmd:"" help:"Remove the saved credentials."`
	Whoami             cli.WhoamiCmd                `cmd:"" help:"Show whom the credentials belong to."`
	RegisterFunction   registerFunctionCmd          `cmd:"" name:"register-function" help:"Register a function and print its ID."`
	Run                runCmd                       `cmd:"" help:"Run a command (or, with --python, a Python function) on an endpoint, print its output and exit with its status."`
	Submit             submitCmd                    `cmd:"" help:"Submit tasks of a registered function and print their IDs."`
	Status             statusCmd                    `cmd:"" help:"Show the state of tasks."`
	Result             resultCmd                    `cmd:"" help:"Print the results of tasks as JSON lines."`
	Endpoint           endpointCmd                  `cmd:"" help:"List endpoints or show one."`
	Version            cli.VersionCmd               `cmd:"" help:"Print the version."`
	InstallCompletions kongplete.InstallCompletions `cmd:"" name:"install-completions" help:"Print the shell completion setup for your login shell (eval it or add it to your shell's rc file)."`
}

const description = "Run functions on funcX endpoints. Credentials come from `funcx login` or from $FUNCX_SDK_CLIENT_ID and $FUNCX_SDK_CLIENT_SECRET; " +
	"$FUNCX_HOME (default ~/.funcx) holds credentials.json."

// epilog ends --help: the exit statuses (docs/endpoint.md lists them too).
const epilog = `Exit status: 0 on success; 1 on an error (status and result: also when
a task is unknown or has no result); 2 on a usage error (an unknown
command or flag, a missing or bad argument), found before anything is
done. run exits with the remote command's own status, or 125 when the
task failed or the command did not exit normally.`

// env is bound into every command's Run, with its Session.
type env struct {
	*cli.Session
	g *grammar
}

// runApp parses args, runs the command and returns the exit status.
func runApp(ctx context.Context, args []string, sys *cli.System) int {
	var g grammar
	e := &env{g: &g, Session: &cli.Session{Ctx: ctx, Sys: sys, Name: "funcx", Debug: &g.Debug, LoginVerb: "login",
		NoTerminal: func(what, flag, envVar string) error {
			return fmt.Errorf("login: no %s: pass %s or set %s (stdin is not a terminal to ask on)", strings.ToLower(what), flag, envVar)
		}}}
	e.Credentials = e.credentials
	app := &cli.App{Name: "funcx", Description: description, Epilog: epilog, CompactHelp: true, Completion: true, Hint: hintFor}
	return app.Run(ctx, args, &g, sys, e, e.Session)
}

// hintFor says what to do about common failures.
func hintFor(err error) string {
	return cli.ServiceHint(err, "funcx login",
		"is the service up and the URL right? Set it with --service-url, "+client.EnvServiceURL+" or `funcx login`")
}

// credentials resolves what the commands authenticate with: saved
// credentials, the environment, then --service-url.
func (e *env) credentials() (client.Credentials, error) {
	home, err := e.Home()
	if err != nil {
		return client.Credentials{}, err
	}
	creds, err := client.ResolveCredentials(home, e.Sys.Getenv)
	if e.g.ServiceURL != "" {
		creds.ServiceURL = e.g.ServiceURL
	}
	if e.g.CAFile != "" {
		creds.CAFile = e.g.CAFile
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
	return e.WithClient(creds, fn)
}

// failed is the exit status 1 with a message.
func failed(format string, args ...any) error {
	return &cli.ExitStatus{Code: cli.ExitError, Err: fmt.Errorf(format, args...)}
}
