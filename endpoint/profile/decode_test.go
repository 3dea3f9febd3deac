package profile

import (
	"slices"
	"testing"
	"time"
)

// Shapes endpoint.Config may grow: durations in lists, optional tables,
// arrays of tables. They decode from strings too.
func TestMirrorShapes(t *testing.T) {
	t.Parallel()
	type inner struct {
		D    time.Duration `toml:"d"`
		Name string        `toml:"name"`
	}
	type shapes struct {
		Ds     []time.Duration `toml:"ds"`
		Opt    *inner          `toml:"opt"`
		Absent *inner          `toml:"absent"`
		List   []inner         `toml:"list"`
		Inner  inner           `toml:"inner"`
		Skip   func()          `toml:"-"`
		Plain  int
	}
	var s shapes
	err := decodeStrict([]byte(`
ds = ["1s", "2m"]
Plain = 7
[opt]
d = "3s"
[inner]
name = "x"
d = "1h"
[[list]]
d = "4s"
[[list]]
name = "y"
`), &s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Ds, []time.Duration{time.Second, 2 * time.Minute}) || s.Opt == nil || s.Opt.D != 3*time.Second ||
		s.Absent != nil || len(s.List) != 2 || s.List[0].D != 4*time.Second || s.List[1].Name != "y" ||
		s.Inner.D != time.Hour || s.Inner.Name != "x" || s.Plain != 7 {
		t.Fatalf("decoded %+v", s)
	}
	if err := decodeStrict([]byte("[opt]\nbogus = 1\n"), &s); err == nil {
		t.Fatal("unknown key in an optional table accepted")
	}
}
