package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/service/api"
)

// strictTypes are the request bodies the service decodes.
var strictTypes = []func() any{
	func() any { return new(api.SubmitRequest) },
	func() any { return new(api.RegisterFunctionRequest) },
	func() any { return new(api.RegisterEndpointRequest) },
	func() any { return new(api.TaskStatusRequest) },
	func() any { return new(api.TokenRequest) },
}

// decodeWithDecoder is what decodeStrict replaced: a json.Decoder that
// refuses unknown fields and trailing data.
func decodeWithDecoder(data []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.Join(errors.New("trailing data"), err)
	}
	return nil
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{`{"tasks":[{"function_id":"f","colour":1}]}`, `unknown field "colour"`},
		{`{"endpoint_id":"e","tasks":[{"args":{"colour":1}}],"x":2}`, `unknown field "x"`},
		{`{"endpoint_\u0069d":"x","c\u006flour":1}`, `unknown field "colour"`},
		{`{"tasks":[{"function_id":"f","args":{"any":{"nested":[1,"}"]}}}]}`, ""},
		{`{"Endpoint_ID":"e","TASKS":[{"Function_Id":"f","stdin":"aGk="}]}`, ""},
		{` {"endpoint_id":"e"} `, ""},
		{`{"endpoint_id":"e"} {}`, "unexpected data after the JSON value"},
		{`{"endpoint_id":`, "ends in the middle of a value"},
		{" \n", "the request body is empty"},
	} {
		err := decodeStrict([]byte(tc.body), new(api.SubmitRequest))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
	}
}

// FuzzDecodeStrict checks decodeStrict against json.Decoder with
// DisallowUnknownFields on every request type: both accept the same
// bodies, and decode them alike.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"endpoint_id":"e","tasks":[{"task_id":"t","function_id":"f","args":{"a":[1,{"b":null}]},"stdin":"aGk="}]}`,
		`{"name":"n","kind":"shell","argv":["a","b"],"env":{"K":"V"},"timeout":"1s","output_limit":5}`,
		`{"endpoint_id":"e","name":"n","display_name":"d","version":"v"}`,
		`{"task_ids":["a","b"]}`, `{"grant_type":"client_credentials","client_id":"a","client_secret":"b"}`,
		`{"NAME":"x","Kind":"go"}`, `{"n\u0061me":"x"}`, `{"colour":1}`, `{"tasks":[{"colour":1}]}`, `{"env":{"a":{"b":1}}}`,
		`{"name":"\ud800"}`, "{\"na\xffme\":1}", `[]`, `null`, `{} {}`, `{"a":1,}`, ` `, `{"tasks":null,"tasks":[{}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, newDst := range strictTypes {
			got, want := newDst(), newDst()
			err := decodeStrict(body, got)
			wantErr := decodeWithDecoder(body, want)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("%T %q: decodeStrict says %v, json.Decoder %v", got, body, err, wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%T %q: decoded %+v, json.Decoder %+v", got, body, got, want)
			}
		}
		// The service's own form of a submission decodes as the API's.
		var mine submitRequest
		var want api.SubmitRequest
		err, wantErr := decodeStrict(body, &mine), decodeWithDecoder(body, &want)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("submitRequest %q: decodeStrict says %v, json.Decoder %v", body, err, wantErr)
		}
		if got := mine.api(); err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("submitRequest %q: decoded %+v, json.Decoder %+v", body, got, want)
		}
	})
}

// api converts the service's form of a submission to the API's.
func (r *submitRequest) api() api.SubmitRequest {
	out := api.SubmitRequest{EndpointID: r.EndpointID}
	if r.Tasks != nil {
		out.Tasks = make([]api.TaskSubmit, len(r.Tasks))
	}
	for i, t := range r.Tasks {
		out.Tasks[i] = api.TaskSubmit{TaskID: t.TaskID, FunctionID: t.FunctionID, Args: json.RawMessage(t.Args), Stdin: t.Stdin}
	}
	return out
}

// TestSubmitRequestMirrorsAPI: the service decodes submissions into its
// own types (see submitRequest), which must take the API's fields.
func TestSubmitRequestMirrorsAPI(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[api.SubmitRequest](), reflect.TypeFor[submitRequest]()},
		{reflect.TypeFor[api.TaskSubmit](), reflect.TypeFor[taskSubmit]()},
	} {
		want, got := pair[0], pair[1]
		if want.NumField() != got.NumField() {
			t.Fatalf("%s has %d fields, %s %d", got, got.NumField(), want, want.NumField())
		}
		for i := range want.NumField() {
			w, g := want.Field(i), got.Field(i)
			if w.Name != g.Name || w.Tag != g.Tag || w.Type.Kind() != g.Type.Kind() {
				t.Errorf("%s.%s %s `%s` differs from %s.%s %s `%s`", got, g.Name, g.Type, g.Tag, want, w.Name, w.Type, w.Tag)
			}
		}
	}
}
