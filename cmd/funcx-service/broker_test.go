package main

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/funcx-go/funcx/broker/rabbitmq"
)

// The flags' defaults are the library's, and a bad limit stops serve
// before it starts, naming the setting.
func TestEndpointLimitFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ   reflect.Type
		field string
		want  string
	}{
		{reflect.TypeFor[endpointLimits](), "MaxConnections", strconv.Itoa(rabbitmq.DefaultEndpointMaxConnections)},
		{reflect.TypeFor[endpointLimits](), "MaxChannels", strconv.Itoa(rabbitmq.DefaultEndpointMaxChannels)},
		{reflect.TypeFor[brokerFlags](), "VhostPrefix", rabbitmq.DefaultVhostPrefix},
	} {
		f, _ := c.typ.FieldByName(c.field)
		if got := f.Tag.Get("default"); got != c.want {
			t.Errorf("default of %s: %q, want %q", c.field, got, c.want)
		}
	}
	code, _, stderr := run(t, "--db="+filepath.Join(t.TempDir(), "s.db"), "serve", "--listen=127.0.0.1:0", "--endpoint-max-connections=-5")
	if code == 0 || !strings.Contains(stderr, "EndpointMaxConnections") {
		t.Errorf("serve with --endpoint-max-connections=-5: exit %d, %q; want an error naming the limit", code, stderr)
	}
}
