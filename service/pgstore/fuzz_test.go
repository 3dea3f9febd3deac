package pgstore

import (
	"slices"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/service"
)

// FuzzDecodeChange: a notification's payload, written by another
// process (maybe another version), never panics the decoder; what it
// accepts is a known kind with what that kind needs, and a payload this
// version encodes decodes to the same change.
func FuzzDecodeChange(f *testing.F) {
	for _, c := range []change{
		{Origin: "o", Kind: kindResults, Owners: []string{"a", "b"}, Last: 7},
		{Origin: "o", Kind: kindResults, All: true, Last: 1 << 40},
		{Origin: "o", Kind: kindDeleted, Endpoint: "e", Owners: []string{"a"}, Last: 3},
		{Origin: "o", Kind: kindReady, Endpoint: "e"},
	} {
		f.Add(c.encode())
	}
	f.Add(`{"k":"x"}`)
	f.Add(`{"k":"d"}`)
	f.Add(`{"k":"r","l":-1}`)
	f.Add(`[]`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, payload string) {
		c, out, err := decodeChange(payload)
		if err != nil {
			return
		}
		switch out.Kind {
		case service.ChangeResults:
		case service.ChangeEndpointDeleted, service.ChangeEndpointReady:
			if out.EndpointID == "" {
				t.Fatalf("%q: %+v without an endpoint", payload, out)
			}
		default:
			t.Fatalf("%q decoded to kind %d", payload, out.Kind)
		}
		if out.LastSeq < 0 {
			t.Fatalf("%q: negative seq", payload)
		}
		p := c.encode()
		again, out2, err := decodeChange(p)
		if err != nil || len(p) > maxPayload+len(c.Origin)+len(c.Endpoint)+64 || again.Origin != c.Origin || out2.Kind != out.Kind ||
			out2.EndpointID != out.EndpointID || out2.LastSeq != out.LastSeq || !out2.AllOwners && !slices.Equal(out2.Owners, out.Owners) {
			t.Fatalf("%q: re-encoded %q decodes to %+v, %v; want %+v", payload, p, out2, err, out)
		}
	})
}

// A change naming too many owners to fit a notification names all.
func TestChangeTooManyOwners(t *testing.T) {
	c := change{Origin: "o", Kind: kindResults, Last: 9}
	for i := range 1000 {
		c.Owners = append(c.Owners, strings.Repeat("x", 30)+string(rune('a'+i%26)))
	}
	p := c.encode()
	_, out, err := decodeChange(p)
	if err != nil || len(p) > maxPayload || !out.AllOwners || out.Owners != nil || out.LastSeq != 9 {
		t.Fatalf("encoded %d bytes: %+v %v", len(p), out, err)
	}
}
