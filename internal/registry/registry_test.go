package registry

import (
	"errors"
	"strings"
	"testing"
)

// Driver is an interface, as the registries' drivers are.
type Driver interface{ Name() string }

type driver struct{ name string }

func (d *driver) Name() string { return d.name }

func newTestRegistry() *Registry[Driver] {
	return New[Driver]("provider type", map[string]string{"kubernetes": ModulePath + "/provider/kubernetes"}, "use local or kubernetes")
}

func TestLookup(t *testing.T) {
	t.Parallel()
	r := newTestRegistry()
	d := &driver{"local"}
	r.Register("local", d)
	if got, err := r.Lookup("local"); err != nil || got != Driver(d) {
		t.Fatalf("Lookup(local) = %v, %v", got, err)
	}
	_, err := r.Lookup("kubernetes")
	want := `provider type "kubernetes" is not linked into this program: import _ "github.com/funcx-go/funcx/provider/kubernetes"`
	if !errors.Is(err, ErrNotLinked) || !strings.Contains(err.Error(), want) {
		t.Errorf("a known type that is not linked: %v\nwant %s", err, want)
	}
	_, err = r.Lookup("nomad")
	if !errors.Is(err, ErrNotLinked) || !strings.Contains(err.Error(), `"nomad" is unknown; use local or kubernetes`) || !strings.Contains(err.Error(), "linked: local") {
		t.Errorf("an unknown type: %v", err)
	}
	if got := r.Names(); len(got) != 1 || got[0] != "local" {
		t.Errorf("Names = %v", got)
	}
}

func TestRegisterPanics(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(r *Registry[Driver]){
		"twice":     func(r *Registry[Driver]) { r.Register("a", &driver{}); r.Register("a", &driver{}) },
		"no name":   func(r *Registry[Driver]) { r.Register("", &driver{}) },
		"no driver": func(r *Registry[Driver]) { r.Register("a", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(newTestRegistry())
		})
	}
}
