package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/alecthomas/kong"
	"github.com/willabides/kongplete"
)

// App is one command's kong setup: its help, completion and how its
// errors are reported.
type App struct {
	// Name is the program's name; it prefixes error messages.
	Name string
	// Description is what --help shows first.
	Description string
	// Epilog is what --help (of the program, not of a command) shows
	// last: the exit statuses.
	Epilog string
	// CompactHelp lists the commands without their flags in --help.
	CompactHelp bool
	// Completion runs shell completion when the shell asks for it (and
	// System.Complete is set), with these options.
	Completion bool
	// CompletionOptions are kongplete's options, e.g. predictors.
	CompletionOptions []kongplete.Option
	// InstallCompletion handles --install-completion [SHELL] before
	// parsing (the grammar declares it for --help).
	InstallCompletion bool
	// Hint, if set, says what to do about an error.
	Hint func(error) string
}

// kongExit carries kong's exit status out of a parse (help, usage
// errors, completion) as a panic, since kong expects Exit not to return.
type kongExit int

// Run parses args into grammar, runs the command with bindings (and a,
// sys) bound for its Run method and kong's hooks, reports an error on
// sys.Stderr and returns the exit status.
func (a *App) Run(ctx context.Context, args []string, grammar any, sys *System, bindings ...any) (code int) {
	if shell, ok, err := InstallCompletionArg(args); a.InstallCompletion && (ok || err != nil) {
		if err == nil {
			err = InstallCompletion(sys, a.Name, shell)
		}
		return a.report(sys, err)
	}
	failing := false
	parser, err := a.parser(grammar, sys, &failing, append(bindings, a, sys))
	if err != nil {
		fmt.Fprintf(sys.Stderr, "%s: build the command line: %v\n", a.Name, err)
		return ExitError
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
	if a.Completion && sys.Complete {
		kongplete.Complete(parser, a.CompletionOptions...)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		failing = true // no epilog under the usage
		parser.FatalIfErrorf(asUsageError(err))
	}
	return a.report(sys, kctx.Run())
}

// kongUsage is the exit status kong gives a usage error.
const kongUsage = 80

// asUsageError makes kong's usage errors exit ExitUsage; its other parse
// errors (a bad value of an environment variable, a failed hook) keep
// their status, ExitError.
func asUsageError(err error) error {
	var ec kong.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() == kongUsage {
		return usageError{err}
	}
	return err
}

// parser builds the kong parser with bindings bound for the commands'
// Run methods and hooks; *failing, once set, keeps the epilog out of the
// usage printed with an error.
func (a *App) parser(grammar any, sys *System, failing *bool, bindings []any) (*kong.Kong, error) {
	return kong.New(grammar,
		kong.Bind(bindings...),
		kong.Name(a.Name),
		kong.Description(a.Description),
		kong.Writers(sys.Stdout, sys.Stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.UsageOnError(),
		kong.ConfigureHelp(kong.HelpOptions{Compact: a.CompactHelp}),
		kong.Help(func(opts kong.HelpOptions, kctx *kong.Context) error {
			if err := kong.DefaultHelpPrinter(opts, kctx); err != nil || *failing || a.Epilog == "" || kctx.Selected() != nil {
				return err
			}
			_, err := fmt.Fprintf(kctx.Stdout, "\n%s\n", a.Epilog)
			return err
		}),
	)
}

// report prints err (and its hint) and returns the exit status.
func (a *App) report(sys *System, err error) int {
	if err == nil {
		return ExitOK
	}
	code := ExitError
	var es *ExitStatus
	if errors.As(err, &es) {
		code = es.Code
		if es.Err == nil {
			return code
		}
	}
	fmt.Fprintf(sys.Stderr, "%s: %v\n", a.Name, err)
	if a.Hint == nil {
		return code
	}
	if hint := a.Hint(err); hint != "" {
		fmt.Fprintf(sys.Stderr, "%s: %s\n", a.Name, hint)
	}
	return code
}
