package storetest

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service"
)

// Identities are unique by name and by client ID, found by client ID
// with their secret hash, and listed by name.
func testIdentities(t *testing.T, b *bundle) {
	st := b.st
	b.identities(t, "zed", "amy")
	got, err := st.IdentityByClientID(ctx(t), "czed")
	if err != nil || got.ID != "zed" || got.Name != "zed" || got.ClientID != "czed" || !bytes.Equal(got.SecretHash, []byte{1, 2, 3}) || !got.CreatedAt.Equal(now) {
		t.Fatalf("IdentityByClientID(czed) = %+v, %v", got, err)
	}
	if _, err := st.IdentityByClientID(ctx(t), "nobody"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("IdentityByClientID(nobody): %v, want ErrNotFound", err)
	}
	for _, dup := range []service.Identity{{ID: "x", Name: "amy", ClientID: "cx"}, {ID: "y", Name: "yan", ClientID: "camy"}} {
		if err := st.CreateIdentity(ctx(t), service.IdentityRecord{Identity: dup, SecretHash: []byte{0}}); !errors.Is(err, service.ErrConflict) {
			t.Fatalf("CreateIdentity(%+v) beside amy: %v, want ErrConflict", dup, err)
		}
	}
	ids, err := st.Identities(ctx(t))
	if err != nil || len(ids) != 2 || ids[0].Name != "amy" || ids[1].Name != "zed" || ids[1].ClientID != "czed" || !ids[1].CreatedAt.Equal(now) {
		t.Fatalf("Identities = %+v, %v; want amy, zed", ids, err)
	}
}

// A token names its identity and expiry; expired tokens stay until
// DeleteExpiredTokens, which deletes those expired at the given time.
func testTokens(t *testing.T, b *bundle) {
	st := b.st
	b.identities(t, "a")
	for i, exp := range []time.Time{now.Add(-time.Second), now, now.Add(time.Hour)} {
		if err := st.CreateToken(ctx(t), service.Token{Hash: []byte{byte(i)}, IdentityID: "a", CreatedAt: now.Add(-time.Hour), ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	id, exp, err := st.TokenIdentity(ctx(t), []byte{0})
	if err != nil || id.ID != "a" || id.Name != "a" || id.ClientID != "ca" || !exp.Equal(now.Add(-time.Second)) {
		t.Fatalf("TokenIdentity = %+v, %v, %v", id, exp, err)
	}
	if _, _, err := st.TokenIdentity(ctx(t), []byte{9}); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("TokenIdentity(unknown): %v, want ErrNotFound", err)
	}
	n, err := st.DeleteExpiredTokens(ctx(t), now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredTokens = %d, %v; want 2", n, err)
	}
	for i, want := range []error{service.ErrNotFound, service.ErrNotFound, nil} {
		if _, _, err := st.TokenIdentity(ctx(t), []byte{byte(i)}); !errors.Is(err, want) {
			t.Errorf("token %d after the deletion: %v, want %v", i, err, want)
		}
	}
}

// A function reads back as it was stored, every field.
func testFunctions(t *testing.T, b *bundle) {
	st := b.st
	b.identities(t, "a")
	fns := []service.FunctionRecord{
		{ID: "sh", Owner: "a", Name: "shell", ContainerImage: "alpine:3", CreatedAt: now, Function: funcx.Function{
			Kind: funcx.KindShell, Argv: []string{"echo", "{msg}", "a b"}, Env: map[string]string{"K": "v", "E": ""},
			Dir: "/tmp", Timeout: 1500 * time.Millisecond, OutputLimit: 4096}},
		{ID: "script", Owner: "a", Name: "script", CreatedAt: now, Function: funcx.Shell("echo 'hi' \"there\"\n")},
		{ID: "go", Owner: "a", Name: "go", CreatedAt: now, Function: funcx.GoFunc("wordcount")},
	}
	for _, f := range fns {
		if err := st.CreateFunction(ctx(t), f); err != nil {
			t.Fatalf("CreateFunction(%s): %v", f.ID, err)
		}
	}
	for _, want := range fns {
		got, err := st.Function(ctx(t), want.ID)
		if err != nil {
			t.Fatalf("Function(%s): %v", want.ID, err)
		}
		// Empty and nil collections are alike.
		if len(got.Function.Argv) == 0 && len(want.Function.Argv) == 0 {
			got.Function.Argv, want.Function.Argv = nil, nil
		}
		if len(got.Function.Env) == 0 && len(want.Function.Env) == 0 {
			got.Function.Env, want.Function.Env = nil, nil
		}
		if !got.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("function %s created at %v, want %v", want.ID, got.CreatedAt, want.CreatedAt)
		}
		got.CreatedAt = want.CreatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Function(%s):\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	if _, err := st.Function(ctx(t), "nope"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("Function(nope): %v, want ErrNotFound", err)
	}
}

// Deleting an identity deletes what it owns, tombstones its endpoints'
// IDs (no one may register them again), and is ErrNotFound the second
// time.
func testDeleteIdentityCascades(t *testing.T, b *bundle) {
	st := b.st
	b.world(t)
	b.identities(t, "b")
	ids := addTasks(t, st, "a", "e1", 2)
	if _, err := st.StoreResults(ctx(t), "e1", success(ids[0]), now); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx(t), service.Token{Hash: []byte("t"), IdentityID: "a", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteIdentity(ctx(t), "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Endpoint(ctx(t), "e1"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("endpoint survived its owner: %v", err)
	}
	if _, err := st.RegisterEndpoint(ctx(t), service.Endpoint{ID: "e1", Owner: "b", Name: "mine"}); !errors.Is(err, service.ErrDeleted) {
		t.Fatalf("b registers a deleted identity's endpoint ID: %v, want ErrDeleted", err)
	}
	if _, err := st.Function(ctx(t), "f1"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("function survived its owner: %v", err)
	}
	if ts, err := st.Tasks(ctx(t), "a", ids); err != nil || len(ts) != 0 {
		t.Fatalf("tasks survived their owner: %+v %v", ts, err)
	}
	if rs, err := st.Results(ctx(t), "a", 0, 10); err != nil || len(rs) != 0 {
		t.Fatalf("results survived their owner: %+v %v", rs, err)
	}
	if _, _, err := st.TokenIdentity(ctx(t), []byte("t")); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("token survived its identity: %v", err)
	}
	if _, err := st.IdentityByClientID(ctx(t), "ca"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("identity survived: %v", err)
	}
	if err := st.DeleteIdentity(ctx(t), "a"); !errors.Is(err, service.ErrNotFound) {
		t.Fatalf("second DeleteIdentity: %v, want ErrNotFound", err)
	}
	if ids, err := st.EndpointIDs(ctx(t)); err != nil || len(ids) != 0 {
		t.Fatalf("EndpointIDs after the deletion: %v %v", ids, err)
	}
}
