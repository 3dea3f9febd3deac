package profile

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
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

var mismatch = regexp.MustCompile(`^cannot decode TOML (\S+) into`)

// decodeProblems turns go-toml's errors into Problems with keys and
// lines, and suggests the closest known key for an unknown one.
func decodeProblems(err error) []Problem {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var out []Problem
		for i := range strict.Errors {
			de := &strict.Errors[i]
			line, _ := de.Position()
			key := strings.Join(de.Key(), ".")
			msg := "unknown key"
			if s := closest(key); s != "" && !strings.Contains(s, ".") && strings.Contains(key, ".") {
				msg += fmt.Sprintf(" (%s is a top-level key: move it above the first [table] header)", s)
			} else if s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += " (`funcx-endpoint configure` writes a config.toml that lists every key)"
			}
			out = append(out, Problem{Key: key, Line: line, Message: msg})
		}
		return out
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if m := mismatch.FindStringSubmatch(msg); m != nil {
			msg = "wrong type: a TOML " + m[1]
			for _, k := range Keys() {
				if k.Name == key {
					msg = fmt.Sprintf("want %s, not a TOML %s", describe(k.Type), m[1])
				}
			}
		}
		return []Problem{{Key: key, Line: line, Message: msg}}
	}
	return []Problem{{Message: err.Error()}}
}

// validateProblems splits endpoint.Config.Validate's joined errors, each
// "key: message", and adds the line where the file sets the key.
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
	var out []Problem
	for _, e := range errs {
		key, msg, ok := strings.Cut(e.Error(), ": ")
		if !ok || strings.ContainsAny(key, " ") {
			out = append(out, Problem{Message: e.Error()})
			continue
		}
		p := Problem{Key: key, Line: lines[key], Message: msg}
		if p.Line == 0 {
			p.Message += " (the default)"
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
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
