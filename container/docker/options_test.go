package docker

import (
	"strings"
	"testing"
)

func TestParseRunOptions(t *testing.T) {
	t.Parallel()
	r, err := parseRunOptions([]string{"--network=host", "-e", "A=1", "--env=B=2", "-u 1000", "--privileged", "--cpus", "1.5", "--memory=512m", "--cap-add=SYS_PTRACE", "--init"})
	if err != nil {
		t.Fatal(err)
	}
	if r.host.NetworkMode != "host" || strings.Join(r.env, ",") != "A=1,B=2" || r.user != "1000" || !r.host.Privileged ||
		r.host.NanoCPUs != 1.5e9 || r.host.Memory != 512<<20 || len(r.host.CapAdd) != 1 || r.host.Init == nil || !*r.host.Init {
		t.Fatalf("parsed %+v", r)
	}
	for _, bad := range [][]string{{"--rm"}, {"--network"}, {"--env=NOEQUALS"}, {"--cpus=-1"}, {"--memory=lots"}, {"--privileged=maybe"}} {
		if _, err := parseRunOptions(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseRunOptions(f *testing.F) {
	f.Add("--network=host\x00-e\x00A=1\x00--memory=1g")
	f.Add("--cpus\x001.5\x00--init")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseRunOptions(strings.Split(s, "\x00"))
	})
}
