package cpuprofile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStartWritesAProfileOnlyWhenAsked(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvDir, "")
	Start("quiet")()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("profiled without %s: %v", EnvDir, entries)
	}

	t.Setenv(EnvDir, dir)
	stop := Start("tester")
	stop()
	stop() // idempotent: the duration timer may stop it too
	matches, _ := filepath.Glob(filepath.Join(dir, "tester-*.pprof"))
	if len(matches) != 1 {
		t.Fatalf("profiles %v, want one tester-PID.pprof", matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b { // gzip, as pprof writes
		t.Fatalf("profile %s: %d bytes, err %v; want a gzipped pprof profile", matches[0], len(b), err)
	}
}
