package tty

import (
	"context"
	"testing"
)

type answers []string

func (a *answers) Ask(_ context.Context, prompt string, _ bool) (string, error) {
	v := (*a)[0]
	*a = (*a)[1:]
	return v, nil
}

func TestAskDefault(t *testing.T) {
	for _, tc := range []struct {
		answer, def, want, wantErr string
	}{
		{"typed", "", "typed", ""},
		{"", "saved", "saved", ""},
		{"typed", "saved", "typed", ""},
		{"", "", "", "no client id given"},
	} {
		a := answers{tc.answer}
		got, err := AskDefault(context.Background(), &a, "Client ID", tc.def, false)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("answer %q default %q: %q, %v; want %q, %q", tc.answer, tc.def, got, err, tc.want, tc.wantErr)
		}
	}
}
