package provider_test

import (
	"os/exec"
	"testing"

	"github.com/funcx-go/funcx/provider"
)

func TestShellQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"/usr/bin/x-1.2", "/usr/bin/x-1.2"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"a=b", "'a=b'"},
		{"x; rm -rf /", "'x; rm -rf /'"},
		{"line\nbreak", "'line\nbreak'"},
		{`back\slash "dq" ` + "`tick`", `'back\slash "dq" ` + "`tick`'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got := provider.ShellQuote(tt.in)
			if got != tt.want {
				t.Errorf("ShellQuote(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// bash must read it back as the one word it was.
			out, err := exec.Command("/bin/bash", "-c", "printf %s "+got).Output()
			if err != nil || string(out) != tt.in {
				t.Errorf("bash read %q back as %q (%v)", got, out, err)
			}
		})
	}
}
