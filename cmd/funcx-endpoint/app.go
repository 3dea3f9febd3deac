package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/posener/complete"
	"github.com/willabides/kongplete"

	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/cli"
)

// grammar is the command line: global flags and one field per
// subcommand.
type grammar struct {
	Debug        bool   `help:"Log debug detail (the SDK's requests; the daemon's log level)."`
	LogToConsole bool   `name:"log-to-console" help:"Also write the endpoint's log to the console (start: until the daemon is up; start --foreground: all along)."`
	CAFile       string `name:"ca-file" placeholder:"FILE" type:"path" help:"PEM certificate of a private CA that signed the service's certificate (and the broker's, unless broker_ca_file in config.toml names another), trusted besides the system's. Default: $FUNCX_CA_FILE, else the one saved by login."`
	// InstallCompletion is handled before parsing (its shell is
	// optional); it is declared here for --help.
	InstallCompletion string `name:"install-completion" placeholder:"bash|zsh|fish" help:"Install shell completion for funcx-endpoint (default: your login shell) and exit."`

	Configure configureCmd   `cmd:"" help:"Create an endpoint profile: $FUNCX_HOME/NAME/config.toml with every option documented."`
	Start     startCmd       `cmd:"" help:"Register the endpoint and start it in the background; prints its ID once it is up."`
	Stop      stopCmd        `cmd:"" help:"Stop the endpoint (waits until it is gone), or clean up after an unclean stop."`
	Restart   restartCmd     `cmd:"" help:"Stop the endpoint, then start it."`
	List      listCmd        `cmd:"" help:"List the endpoint profiles on this machine with their status."`
	Delete    deleteCmd      `cmd:"" help:"Delete an endpoint: deregister it from the service and remove its profile."`
	Login     loginCmd       `cmd:"" help:"Save credentials for the service after checking them."`
	Logout    cli.LogoutCmd  `cmd:"" help:"Remove the saved credentials."`
	Whoami    cli.WhoamiCmd  `cmd:"" help:"Show whom the credentials belong to."`
	Version   cli.VersionCmd `cmd:"" help:"Print the version."`

	Daemon daemonCmd `cmd:"" hidden:"" help:"Run an endpoint as the daemon that start launches (internal)."`
}

const name = "funcx-endpoint"

const description = "Manage funcX endpoints on this machine. Profiles live in $FUNCX_HOME (default ~/.funcx): " +
	"NAME/config.toml (written by configure), NAME/endpoint.json, NAME/daemon.pid, NAME/endpoint.log; " +
	"credentials.json holds the cached credentials. FUNCX_SDK_CLIENT_ID and FUNCX_SDK_CLIENT_SECRET select a client identity; " +
	"FUNCX_SERVICE_URL the service."

// epilog ends --help: the exit statuses (docs/endpoint.md lists them too).
const epilog = `Exit status: 0 on success; 1 on an error (list: also when a profile
cannot be read); 2 on a usage error (an unknown command or flag, a
missing or bad argument), found before anything is done.`

// env is bound into every command's Run, with its Session.
type env struct {
	*cli.Session
	g *grammar
}

// runApp parses args, runs the command and returns the exit status.
func runApp(ctx context.Context, args []string, sys *cli.System) int {
	var g grammar
	e := &env{g: &g, Session: &cli.Session{Ctx: ctx, Sys: sys, Name: name, Debug: &g.Debug, AbsHome: true, LoginVerb: "log in",
		NoTerminal: func(string, string, string) error { return errNoTerminal }}}
	e.Credentials = func() (client.Credentials, error) { return e.credentials("") }
	app := &cli.App{Name: name, Description: description, Epilog: epilog, CompactHelp: true, InstallCompletion: true,
		Completion: true, CompletionOptions: []kongplete.Option{kongplete.WithPredictor("profile", profiles(sys))},
		Hint: hintFor}
	return app.Run(ctx, args, &g, sys, e, e.Session)
}

// profiles completes profile names.
func profiles(sys *cli.System) complete.Predictor {
	return complete.PredictFunc(func(complete.Args) []string {
		home, err := client.Home(sys.Getenv)
		if err != nil {
			return nil
		}
		names, _ := profile.List(home)
		return names
	})
}

// hintFor says what to do about common failures.
func hintFor(err error) string {
	return cli.ServiceHint(err, "funcx-endpoint login",
		"is the service up and its URL right? Set it with service_url in config.toml, "+client.EnvServiceURL+" or `funcx-endpoint login`")
}

// profile returns the named profile (default when name is empty) in the
// absolute home (the daemon runs in /).
func (e *env) profile(name string) (*profile.Profile, error) {
	home, err := e.Home()
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = profile.DefaultName
	}
	return profile.New(home, name)
}

// lockedProfile returns the named profile, which must exist (else the
// error of missing), holding its command lock until unlock.
func (e *env) lockedProfile(name string, missing func(*profile.Profile) error) (p *profile.Profile, unlock func(), err error) {
	if p, err = e.profile(name); err != nil {
		return nil, nil, err
	}
	if !p.Exists() {
		return nil, nil, missing(p)
	}
	if unlock, err = p.LockCommand(); err != nil {
		return nil, nil, err
	}
	return p, unlock, nil
}

// configureFirst is the error of start and restart without a profile.
func configureFirst(p *profile.Profile) error {
	return fmt.Errorf("no endpoint %s: run `funcx-endpoint configure %s` first", p.Name, p.Name)
}

// noProfile is the error of stop and delete without a profile.
func noProfile(p *profile.Profile) error {
	return fmt.Errorf("no endpoint %s: %s does not exist", p.Name, p.Path(profile.ConfigFile))
}

// logLevel is the daemon's log level.
func (e *env) logLevel() slog.Level {
	if e.g.Debug {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
