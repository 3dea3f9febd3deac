package rabbitmq

import (
	"fmt"
	"net/url"
	"regexp"
)

// endpointPermissions are the regexes of an endpoint's user: names under
// "funcx.ep.<id>." only (endpoint IDs cannot hold a dot, so no other
// endpoint's names share the prefix). They leave out the default
// exchange (named "" or "amq.default"): write permission on it would let
// the endpoint publish into any queue by name.
func endpointPermissions(endpointID string) permissions {
	re := `^funcx\.ep\.` + regexp.QuoteMeta(endpointID) + `\.`
	return permissions{Configure: re, Write: re, Read: re}
}

// endpointURL is the AMQP URL an endpoint dials: base's scheme, host and
// port with the endpoint's user and the vhost.
func endpointURL(base, user, password, vhost string) string {
	u, _ := url.Parse(base) // validated by Config.validate
	return fmt.Sprintf("%s://%s@%s/%s", u.Scheme, url.UserPassword(user, password).String(), u.Host, url.PathEscape(vhost))
}
