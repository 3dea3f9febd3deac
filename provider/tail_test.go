package provider_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/provider"
)

func TestReadTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		content  string
		maxBytes int
		want     string
	}{
		{"short file whole", "one\ntwo\n", 100, "one\ntwo"},
		{"partial first line dropped", "first line\nsecond\nthird\n", 12, "third"},
		{"window at line start", "first line\nsecond\nthird\n", 13, "second\nthird"},
		{"one long line kept", strings.Repeat("x", 50), 10, strings.Repeat("x", 10)},
		{"empty", "", 10, ""},
		{"default size", strings.Repeat("a\n", 5000), 0, strings.TrimSpace(strings.Repeat("a\n", provider.DefaultTailBytes/2))},
		{"broken rune dropped", "é" + "abc", 4, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "err")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := provider.ReadTail(path, tt.maxBytes)
			if err != nil || got != tt.want {
				t.Errorf("ReadTail = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		if _, err := provider.ReadTail(filepath.Join(t.TempDir(), "nope"), 0); err == nil {
			t.Error("ReadTail of a missing file returned no error")
		}
	})
}
