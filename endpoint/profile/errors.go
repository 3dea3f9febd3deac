package profile

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// ConfigError is a config.toml that cannot be used. It lists every
// problem found, each with its key and, where the file sets it, its line.
type ConfigError struct {
	Path     string
	Problems []Problem
}

// Problem is one thing wrong with a config.toml.
type Problem struct {
	Key     string // dotted key ("provider.max_blocks"); empty for a syntax error
	Line    int    // 1-based; 0 when the key is not in the file (a default)
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is not a valid endpoint configuration:", cmpOr(e.Path, "config.toml"))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var redefined = regexp.MustCompile(`^Key '(.*)' has already been defined\.$`)

// syntaxProblem turns an error of the TOML parser into a Problem with its
// line; a key given twice is named.
func syntaxProblem(err error) Problem {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return Problem{Message: "TOML syntax: " + err.Error()}
	}
	p := Problem{Line: pe.Position.Line, Message: "TOML syntax: " + pe.Message}
	if m := redefined.FindStringSubmatch(pe.Message); m != nil {
		p.Key, p.Message = m[1], fmt.Sprintf("key %s is already defined", m[1])
	} else if strings.HasSuffix(pe.Message, " is out of range for int64") {
		p.Key, p.Message = pe.LastKey, pe.Message
	}
	return p
}

// unknownKey is the Problem of a key that is not an option, suggesting
// the closest one.
func unknownKey(key string, line int) Problem {
	msg := "unknown key"
	if s := closest(key); s != "" && !strings.Contains(s, ".") && strings.Contains(key, ".") {
		msg += fmt.Sprintf(" (%s is a top-level key: move it above the first [table] header)", s)
	} else if s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += " (`funcx-endpoint configure` writes a config.toml that lists every key)"
	}
	return Problem{Key: key, Line: line, Message: msg}
}

// validateProblems splits endpoint.Config.Validate's joined errors, each
// "key: message", and adds the line where the file sets the key. The
// problems of keys the file sets come first, by line: they name the values
// to change. A key the file does not set has its default, and its problem
// says so, unless the problem names a key that has a problem of its own:
// it follows from that key's bad value (max_blocks = -1 makes the default
// min_blocks exceed it) and is left out, as fixing that value settles it.
func validateProblems(err error, lines map[string]int) []Problem {
	var errs []error
	for e := err; e != nil; {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
			break
		}
		e = errors.Unwrap(e)
	}
	if errs == nil {
		errs = []error{err}
	}
	var all []Problem
	for _, e := range errs {
		key, msg, ok := strings.Cut(e.Error(), ": ")
		if !ok || strings.ContainsAny(key, " ") {
			all = append(all, Problem{Message: e.Error()})
			continue
		}
		all = append(all, Problem{Key: key, Line: lines[key], Message: msg})
	}
	var set, unset []Problem
	for _, p := range all {
		switch {
		case p.Key == "" || p.Line > 0:
			set = append(set, p)
		case !namesOther(p, all):
			p.Message += " (the default)"
			unset = append(unset, p)
		}
	}
	sort.SliceStable(set, func(i, j int) bool { return set[i].Line < set[j].Line })
	return append(set, unset...)
}

// namesOther reports whether p's message names the key of another of the
// problems.
func namesOther(p Problem, all []Problem) bool {
	for _, o := range all {
		if o.Key != "" && o.Key != p.Key && namesKey(p.Message, o.Key) {
			return true
		}
	}
	return false
}

// namesKey reports whether msg holds key as a whole dotted name.
func namesKey(msg, key string) bool {
	for i := 0; ; {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(key)
		// Not part of a longer name; a full stop may follow.
		before := j == 0 || !isBareKeyByte(msg[j-1]) && msg[j-1] != '.'
		after := end == len(msg) || !isBareKeyByte(msg[end]) &&
			(msg[end] != '.' || end+1 == len(msg) || !isBareKeyByte(msg[end+1]))
		if before && after {
			return true
		}
		i = j + 1
	}
}

// closest returns the known key nearest to an unknown one, if any is
// close enough to be a typo.
func closest(key string) string {
	best, bestD := "", 4
	if len(key) > 64 {
		return ""
	}
	for _, k := range Keys() {
		if d := distance(key, k.Name); d < bestD && d <= len(key)/3 {
			best, bestD = k.Name, d
		}
		// A key put in the wrong table: same last part.
		if last(k.Name) == last(key) && k.Name != key && bestD > 1 {
			best, bestD = k.Name, 1
		}
	}
	return best
}

func last(dotted string) string { return dotted[strings.LastIndexByte(dotted, '.')+1:] }

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
