package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// shellArgs are a shell task's arguments: the members of its JSON object.
type shellArgs map[string]json.RawMessage

// parseShellArgs decodes a shell task's arguments. Empty or null means no
// arguments; anything but a JSON object is refused, since placeholders are
// named.
func parseShellArgs(raw []byte) (shellArgs, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, fmt.Errorf("arguments must be a JSON object of named values, got %s", jsonKind(raw[0]))
	}
	var args shellArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, fmt.Errorf("decode arguments: %w", err)
	}
	return args, nil
}

// jsonKind names the kind of JSON value that starts with c, for errors.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number or invalid JSON"
	}
}

// render turns one argument into the text that replaces its placeholder:
// strings as they are (unquoted), numbers, booleans and null in their JSON
// form, objects and arrays as compact JSON.
func render(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", nil
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", err
		}
		return s, nil
	case '{', '[':
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	return string(v), nil
}

// substitute replaces every {key} in tmpl by the rendered argument key.
// "{{" and "}}" stand for literal braces. A placeholder without an
// argument, an unclosed "{" and a lone "}" are errors: like Python's
// str.format (which funcX's ShellFunction used), so that a forgotten
// argument never runs as a literal "{key}" in someone's shell.
func substitute(tmpl string, args shellArgs) (string, error) {
	i := strings.IndexAny(tmpl, "{}")
	if i < 0 {
		return tmpl, nil // the common case: nothing to do, no allocation
	}
	var b strings.Builder
	b.Grow(len(tmpl))
	last := 0 // tmpl[last:i] is literal text not yet written
	for i >= 0 {
		b.WriteString(tmpl[last:i])
		brace := tmpl[i]
		switch {
		case i+1 < len(tmpl) && tmpl[i+1] == brace: // "{{" or "}}"
			b.WriteByte(brace)
			last = i + 2
		case brace == '}':
			return "", fmt.Errorf("single '}' at byte %d: write '}}' for a literal brace", i)
		default:
			end := strings.IndexAny(tmpl[i+1:], "{}")
			if end < 0 {
				return "", fmt.Errorf("unclosed '{' at byte %d: write '{{' for a literal brace", i)
			}
			end += i + 1
			if tmpl[end] == '{' {
				return "", fmt.Errorf("'{' inside the placeholder that opens at byte %d: write '{{' for a literal brace", i)
			}
			v, err := lookupArg(args, tmpl[i+1:end])
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			last = end + 1
		}
		i = strings.IndexAny(tmpl[last:], "{}")
		if i >= 0 {
			i += last
		}
	}
	b.WriteString(tmpl[last:])
	return b.String(), nil
}

// lookupArg renders the argument named key.
func lookupArg(args shellArgs, key string) (string, error) {
	if key == "" {
		return "", fmt.Errorf("empty placeholder {}: placeholders are named, like {name}; write '{{}}' for literal braces")
	}
	v, ok := args[key]
	if !ok {
		names := make([]string, 0, len(args))
		for k := range args {
			names = append(names, k)
		}
		slices.Sort(names)
		return "", fmt.Errorf("no argument named %q for placeholder {%s} (arguments given: %s); write '{{' and '}}' for literal braces",
			key, key, strings.Join(names, ", "))
	}
	s, err := render(v)
	if err != nil {
		return "", fmt.Errorf("render argument %q: %w", key, err)
	}
	return s, nil
}
