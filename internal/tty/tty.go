// Package tty asks the user questions on the process's terminal, with
// echo turned off for secrets. The CLIs use it for logins and
// confirmations; without a terminal they take flags or the environment.
package tty

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Terminal asks the user for input.
type Terminal interface {
	// Ask shows prompt and reads a line; secret turns echo off.
	Ask(ctx context.Context, prompt string, secret bool) (string, error)
}

// ttyTerminal is the process's terminal on stdin, prompting on stderr.
type ttyTerminal struct {
	in  *bufio.Reader
	out io.Writer
	fd  int
}

// Open returns the terminal on stdin, or nil if stdin is not one.
func Open() Terminal {
	fd := int(os.Stdin.Fd())
	if !isTerminal(fd) {
		return nil
	}
	return &ttyTerminal{in: bufio.NewReader(os.Stdin), out: os.Stderr, fd: fd}
}

func (t *ttyTerminal) Ask(ctx context.Context, prompt string, secret bool) (string, error) {
	fmt.Fprint(t.out, prompt)
	if secret {
		restore, err := echoOff(t.fd)
		if err != nil {
			return "", fmt.Errorf("turn off echo for the secret: %w", err)
		}
		defer restore()
		defer fmt.Fprintln(t.out) // the user's Enter was not echoed
	}
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	// The read cannot be interrupted; on Ctrl-C the process is exiting
	// anyway, and echo is restored on the way out.
	go func() {
		line, err := t.in.ReadString('\n')
		ch <- answer{line, err}
	}()
	select {
	case a := <-ch:
		if a.err != nil && (a.line == "" || !errors.Is(a.err, io.EOF)) {
			return "", fmt.Errorf("read the answer: %w", a.err)
		}
		return strings.TrimSpace(a.line), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// AskDefault asks for what ("Client ID"), showing def as the answer a
// bare Enter takes; an empty answer without a default is an error.
func AskDefault(ctx context.Context, t Terminal, what, def string, secret bool) (string, error) {
	prompt := what + ": "
	if def != "" {
		prompt = fmt.Sprintf("%s [%s]: ", what, def)
	}
	v, err := t.Ask(ctx, prompt, secret)
	if err != nil {
		return "", err
	}
	if v = cmp.Or(v, def); v == "" {
		return "", errors.New("no " + strings.ToLower(what) + " given")
	}
	return v, nil
}
