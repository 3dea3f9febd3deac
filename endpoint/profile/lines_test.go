package profile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// Every key gets the line it is written on, whatever the values between
// hold: multi-line strings that look like keys, arrays and inline tables
// over several lines, quoted and dotted keys, comments.
func TestKeyLines(t *testing.T) {
	t.Parallel()
	doc := `# max_blocks = 1
display_name = """
max_blocks = 2
[provider]
"""
worker_command = [
  "a", # ]
  'b',
]
"quoted.key" = 'it"s' # a comment
run_options = ["x", """y
"""]
a.b = 1979-05-27 07:32:00

[ provider . kubernetes ]
namespace = "ns\"x"
env = { A = "1",
  B = { C = 2 } }
[[list]]
x = '''
z = 3'''
y = """a""""
last = 1
"esc\u0041ped" = 0
`
	var m map[string]any
	if _, err := toml.Decode(doc, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"display_name": 2, "worker_command": 6, "quoted.key": 10, "run_options": 11,
		"a": 13, "a.b": 13, "provider": 15, "provider.kubernetes": 15,
		"provider.kubernetes.namespace": 16, "provider.kubernetes.env": 17,
		"provider.kubernetes.env.A": 17, "provider.kubernetes.env.B": 18, "provider.kubernetes.env.B.C": 18,
		"list": 19, "list.x": 20, "list.y": 22, "list.last": 23, "list.escAped": 24,
	}
	got := keyLines([]byte(doc))
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: line %d, want %d", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %q (line %d)", k, got[k])
		}
	}
}

// FuzzKeyLines: on any document BurntSushi/toml accepts, the scanner finds
// a line, within the document, for every key the library reports; on any
// input at all it returns.
func FuzzKeyLines(f *testing.F) {
	f.Add([]byte(Template("fuzz")))
	f.Add([]byte("a = \"\"\"\nb = 1\n\"\"\"\nc = [1,\n2]\n[d . 'e']\nf = {g = 1, h = [{i = 2}]}\n"))
	f.Add([]byte("[[x]]\ny = '''a'''\n[[x]]\n\"z\\\"\" = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := keyLines(data)
		md, err := toml.Decode(string(data), new(map[string]any))
		if err != nil {
			return
		}
		n := bytes.Count(data, []byte{'\n'}) + 1
		for _, k := range md.Keys() {
			name := strings.Join(k, ".")
			if l := lines[name]; l < 1 || l > n {
				t.Fatalf("key %q: line %d (of %d); found %v", name, l, n, lines)
			}
		}
	})
}
