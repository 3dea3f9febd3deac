package provider

import "strings"

// ShellQuote quotes s as one word for bash (and any POSIX shell). Inside
// single quotes nothing is special; a single quote itself closes the
// quotes, is written escaped, and reopens them:
//
//	it's  ->  'it'\''s'
//
// Launchers and submit-script writers use it to pass a command line
// through another command without it being re-split or expanded. Words
// made only of safe characters are returned as they are, for readable
// scripts.
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, shellSafe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:,+@%"
