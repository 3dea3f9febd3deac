package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/alecthomas/kong"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// cli is the command line: global flags and one field per subcommand.
type cli struct {
	DB       string `name:"db" env:"FUNCX_SERVICE_DB" default:"./funcx-service.db" placeholder:"PATH" help:"SQLite database file, created if missing (default: ${default})."`
	LogLevel string `name:"log-level" env:"FUNCX_SERVICE_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`

	Serve   serveCmd   `cmd:"" help:"Serve the HTTP API until SIGINT or SIGTERM."`
	User    userCmd    `cmd:"" help:"Add, list or remove client identities."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

// env is bound into every command's Run.
type env struct {
	ctx            context.Context
	cli            *cli
	stdout, stderr io.Writer
	log            *slog.Logger
}

// kongExit carries kong's exit code out of a parse (help) as a panic,
// since kong expects Exit not to return.
type kongExit int

// runApp parses args, runs the command and returns the exit status.
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("funcx-service"),
		kong.Description("The funcX web service: HTTP API, client identities, and the RabbitMQ queues of the endpoints."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.UsageOnError(),
	)
	if err != nil {
		fmt.Fprintln(stderr, "funcx-service:", err)
		return 2
	}
	defer func() {
		if v := recover(); v != nil {
			k, ok := v.(kongExit)
			if !ok {
				panic(v)
			}
			code = int(k)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		parser.FatalIfErrorf(err)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel)) // kong checked the enum
	e := &env{ctx: ctx, cli: &c, stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	if err := kctx.Run(e); err != nil {
		fmt.Fprintln(stderr, "funcx-service:", err)
		return 1
	}
	return 0
}

// openStore opens the database named by --db.
func (e *env) openStore() (*sqlitestore.Store, error) {
	st, err := sqlitestore.Open(e.ctx, sqlitestore.Config{Path: e.cli.DB, Logger: e.log})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// withAdmin runs fn with a service on the database for identity
// administration; b may be nil (no broker).
func (e *env) withAdmin(b broker.Service, fn func(*service.Service) error) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	cfg := service.Config{Store: st, Logger: e.log}
	if b != nil {
		cfg.Broker = b
	}
	svc, err := service.New(cfg)
	if err == nil {
		err = fn(svc)
	}
	return errors.Join(err, st.Close())
}
