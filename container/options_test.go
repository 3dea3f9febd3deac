package container

import (
	"errors"
	"os"
	"testing"
)

func TestParseBind(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Bind{
		"/data":              {Host: "/data", Container: "/data"},
		"/a:/b":              {Host: "/a", Container: "/b"},
		"/a:/b:ro":           {Host: "/a", Container: "/b", ReadOnly: true},
		"/a:/b:rw":           {Host: "/a", Container: "/b"},
		"/scratch:/mnt/x:ro": {Host: "/scratch", Container: "/mnt/x", ReadOnly: true},
	} {
		got, err := ParseBind(in)
		if err != nil || got != want {
			t.Errorf("ParseBind(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "rel:/b", "/a:rel", "/a:/b:xx", "/a:/b:ro:more"} {
		if _, err := ParseBind(in); err == nil {
			t.Errorf("ParseBind(%q) accepted", in)
		}
	}
}

func TestCheckStatic(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable() // a test binary built with -race links libc
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckStatic(exe); err == nil && raceEnabled {
		t.Errorf("the race-enabled test binary counts as static")
	}
	if err := CheckStatic("/nonexistent"); err == nil {
		t.Error("a missing file counts as static")
	}
}

func TestExitErrorUnwraps(t *testing.T) {
	t.Parallel()
	var e error = &ExitError{ID: "x", Err: ErrNoImage}
	if !errors.Is(e, ErrNoImage) {
		t.Error("ExitError does not unwrap")
	}
}

func FuzzParseBind(f *testing.F) {
	f.Add("/a:/b:ro")
	f.Add("/data")
	f.Fuzz(func(t *testing.T, s string) {
		if b, err := ParseBind(s); err == nil {
			again, err := ParseBind(b.String())
			if err != nil || again != b {
				t.Fatalf("bind %q does not survive a round trip: %+v %v", s, again, err)
			}
		}
	})
}
