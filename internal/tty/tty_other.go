//go:build !linux

package tty

import "errors"

// isTerminal is false where echo control is not implemented (funcX
// endpoints are Linux-only; the CLI then takes flags or the environment).
func isTerminal(int) bool { return false }

func echoOff(int) (func(), error) { return nil, errors.New("not supported on this system") }
