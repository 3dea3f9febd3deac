package container

import (
	"errors"
	"os"
	"strings"
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

func TestParseDockerRunOptions(t *testing.T) {
	t.Parallel()
	r, err := parseDockerRunOptions([]string{"--network=host", "-e", "A=1", "--env=B=2", "-u 1000", "--privileged", "--cpus", "1.5", "--memory=512m", "--cap-add=SYS_PTRACE", "--init"})
	if err != nil {
		t.Fatal(err)
	}
	if r.host.NetworkMode != "host" || strings.Join(r.env, ",") != "A=1,B=2" || r.user != "1000" || !r.host.Privileged ||
		r.host.NanoCPUs != 1.5e9 || r.host.Memory != 512<<20 || len(r.host.CapAdd) != 1 || r.host.Init == nil || !*r.host.Init {
		t.Fatalf("parsed %+v", r)
	}
	for _, bad := range [][]string{{"--rm"}, {"--network"}, {"--env=NOEQUALS"}, {"--cpus=-1"}, {"--memory=lots"}, {"--privileged=maybe"}} {
		if _, err := parseDockerRunOptions(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCommandLines(t *testing.T) {
	t.Parallel()
	binds := []Bind{{Host: "/s", Container: "/s"}, {Host: "/w", Container: "/w", ReadOnly: true}}
	got := SingularityArgv("apptainer", "img.sif", []string{"--cleanenv"}, binds, true, []string{"/w", "x"})
	if want := "apptainer exec --cleanenv --bind /s:/s --bind /w:/w:ro --nv img.sif /w x"; strings.Join(got, " ") != want {
		t.Errorf("singularity: %q", got)
	}
	got = ShifterArgv("shifter", "docker:img", nil, binds, false, []string{"/w"})
	if want := "shifter --image=docker:img --volume=/s:/s --volume=/w:/w:ro -- /w"; strings.Join(got, " ") != want {
		t.Errorf("shifter: %q", got)
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

func TestFindCommand(t *testing.T) {
	t.Parallel()
	if _, err := findCommand(Shifter, "/nonexistent/shifter"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("got %v", err)
	}
	if err := ValidateOptions("podman", Options{}); err == nil {
		t.Error("an unknown runtime is accepted")
	}
	var e error = &ExitError{ID: "x", Err: ErrNoImage}
	if !errors.Is(e, ErrNoImage) {
		t.Error("ExitError does not unwrap")
	}
}

func FuzzParseRunOptions(f *testing.F) {
	f.Add("--network=host\x00-e\x00A=1\x00--memory=1g")
	f.Add("/a:/b:ro")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseDockerRunOptions(strings.Split(s, "\x00"))
		if b, err := ParseBind(s); err == nil {
			again, err := ParseBind(b.String())
			if err != nil || again != b {
				t.Fatalf("bind %q does not survive a round trip: %+v %v", s, again, err)
			}
		}
	})
}
