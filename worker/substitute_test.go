package worker

import (
	"strings"
	"testing"
)

func TestSubstitute(t *testing.T) {
	t.Parallel()
	args := `{"name": "world", "n": 42, "f": 1.5e3, "ok": true, "nil": null,
		"list": [1, "two", {"x": 3}], "obj": {"a": [1, 2]}, "quote": "it's \"q\"", "brace": "{x}", "": "empty"}`
	tests := []struct {
		name, tmpl, want, wantErr string
	}{
		{name: "no placeholders", tmpl: "echo hello", want: "echo hello"},
		{name: "empty", tmpl: "", want: ""},
		{name: "string as is", tmpl: "hello {name}", want: "hello world"},
		{name: "number", tmpl: "n={n}", want: "n=42"},
		{name: "number kept as written", tmpl: "{f}", want: "1.5e3"},
		{name: "bool", tmpl: "{ok}", want: "true"},
		{name: "null", tmpl: "{nil}", want: "null"},
		{name: "array compact", tmpl: "{list}", want: `[1,"two",{"x":3}]`},
		{name: "object compact", tmpl: "{obj}", want: `{"a":[1,2]}`},
		{name: "quotes untouched", tmpl: "{quote}", want: `it's "q"`},
		{name: "value not re-expanded", tmpl: "{brace}", want: "{x}"},
		{name: "repeated and adjacent", tmpl: "{n}{n}-{name}", want: "4242-world"},
		{name: "escaped braces", tmpl: "{{name}} {{ }}", want: "{name} { }"},
		{name: "escape next to placeholder", tmpl: "{{{name}}}", want: "{world}"},
		{name: "shell parameter escaped", tmpl: "echo ${{HOME}}", want: "echo ${HOME}"},
		{name: "awk escaped", tmpl: "awk '{{print $1}}'", want: "awk '{print $1}'"},
		{name: "utf8 around", tmpl: "é{name}ü", want: "éworldü"},
		{name: "missing key", tmpl: "echo {nope}", wantErr: `no argument named "nope" for placeholder {nope}`},
		{name: "missing lists given", tmpl: "{nope}", wantErr: "arguments given: , brace, f, list"},
		{name: "shell parameter unescaped", tmpl: "echo ${HOME}", wantErr: `no argument named "HOME"`},
		{name: "empty placeholder", tmpl: "a {} b", wantErr: "empty placeholder {}"},
		{name: "unclosed", tmpl: "echo {name", wantErr: "unclosed '{' at byte 5"},
		{name: "single close", tmpl: "echo }", wantErr: "single '}' at byte 5"},
		{name: "open inside placeholder", tmpl: "{a{b}", wantErr: "'{' inside the placeholder that opens at byte 0"},
		{name: "odd closing run", tmpl: "{name}}", wantErr: "single '}' at byte 6"},
	}
	parsed, err := parseShellArgs([]byte(args))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := substitute(tt.tmpl, parsed)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("substitute(%q) = %q, %v; want error with %q", tt.tmpl, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("substitute(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
			}
		})
	}
}

func TestParseShellArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, args, wantErr string
		wantLen             int
	}{
		{name: "absent", args: ""},
		{name: "null", args: " null "},
		{name: "object", args: `{"a": 1, "b": "x"}`, wantLen: 2},
		{name: "array", args: `[1]`, wantErr: "must be a JSON object of named values, got an array"},
		{name: "string", args: `"x"`, wantErr: "got a string"},
		{name: "broken", args: `{"a": `, wantErr: "decode arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseShellArgs([]byte(tt.args))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseShellArgs(%q): %v; want error with %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != tt.wantLen {
				t.Fatalf("parseShellArgs(%q) = %v, %v; want %d args", tt.args, got, err, tt.wantLen)
			}
		})
	}
}

// escape doubles every brace, so that substitute gives s back.
func escape(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}

// FuzzSubstitute feeds outside bytes (a task's script and arguments) to the
// parser: it must never panic, an escaped template must come back as it
// was, and a successful expansion of a template without placeholders
// changes nothing.
func FuzzSubstitute(f *testing.F) {
	for _, seed := range [][2]string{
		{"echo {name}", `{"name": "x"}`},
		{"{{}} {a}{b}", `{"a": [1, {"b": 2}], "b": null}`},
		{"${HOME} {", `{}`},
		{"}{", `{"": 1}`},
		{"{a{b}}", `{"a{b": 1}`},
		{"plain", `[1, 2]`},
		{"{x}", `{"x": "\u00e9\n"}`},
	} {
		f.Add(seed[0], []byte(seed[1]))
	}
	f.Fuzz(func(t *testing.T, tmpl string, rawArgs []byte) {
		args, err := parseShellArgs(rawArgs)
		if err != nil {
			args = nil
		}
		got, err := substitute(tmpl, args)
		if err == nil && !strings.ContainsAny(tmpl, "{}") && got != tmpl {
			t.Fatalf("substitute(%q) = %q without placeholders", tmpl, got)
		}
		if back, err := substitute(escape(tmpl), args); err != nil || back != tmpl {
			t.Fatalf("substitute(escape(%q)) = %q, %v", tmpl, back, err)
		}
	})
}
