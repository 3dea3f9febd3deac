package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/internal/cli"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// grammar is the command line: global flags and one field per
// subcommand.
type grammar struct {
	DB       string `name:"db" env:"FUNCX_SERVICE_DB" default:"./funcx-service.db" placeholder:"PATH" help:"SQLite database file, created if missing (default: ${default})."`
	LogLevel string `name:"log-level" env:"FUNCX_SERVICE_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`

	Serve   serveCmd       `cmd:"" help:"Serve the HTTP API until SIGINT or SIGTERM."`
	User    userCmd        `cmd:"" help:"Add, list or remove client identities."`
	Version cli.VersionCmd `cmd:"" help:"Print the version."`
}

// AfterApply sets up the log once the flags are known.
func (g *grammar) AfterApply(e *env) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(g.LogLevel)) // kong checked the enum
	e.log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	return nil
}

// env is bound into every command's Run.
type env struct {
	ctx            context.Context
	cli            *grammar
	stdout, stderr io.Writer
	log            *slog.Logger
}

const description = "The funcX web service: HTTP API, client identities, and the RabbitMQ queues of the endpoints."

// epilog ends --help: the exit statuses (docs/endpoint.md lists them too).
const epilog = `Exit status: 0 on success (serve: stopped by SIGINT or SIGTERM); 1 on
an error; 2 on a usage error (an unknown command or flag, a missing or
bad argument), found before anything is done.`

// runApp parses args, runs the command and returns the exit status.
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g grammar
	e := &env{ctx: ctx, cli: &g, stdout: stdout, stderr: stderr}
	sys := &cli.System{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	app := &cli.App{Name: "funcx-service", Description: description, Epilog: epilog}
	return app.Run(ctx, args, &g, sys, e)
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
