package rabbitmq

import (
	"fmt"
	"net/url"
	"regexp"

	"github.com/funcx-go/funcx/broker"
)

// endpointPermissions are an endpoint user's permissions in its own
// virtual host, the least it needs: no configure (the service declares
// and owns every queue and exchange, so the endpoint can neither delete
// nor redeclare them, e.g. exclusive), read of its task queue only, and
// write to its results exchange only. They leave out the default
// exchange (named "" or "amq.default"): write permission on it would let
// the endpoint publish into any queue by name. RabbitMQ reads an empty
// pattern as "nothing".
func endpointPermissions(endpointID string) permissions {
	return permissions{
		Configure: "",
		Write:     "^" + regexp.QuoteMeta(broker.ResultExchange(endpointID)) + "$",
		Read:      "^" + regexp.QuoteMeta(broker.TaskQueue(endpointID)) + "$",
	}
}

// servicePermissions are the service user's in an endpoint's virtual
// host: everything, as it declares, publishes to and consumes from all
// of it.
var servicePermissions = permissions{Configure: ".*", Write: ".*", Read: ".*"}

// endpointURL is the AMQP URL an endpoint dials: base's scheme, host and
// port with the endpoint's user and the vhost.
func endpointURL(base, user, password, vhost string) string {
	u, _ := url.Parse(base) // validated by Config.validate
	return fmt.Sprintf("%s://%s@%s/%s", u.Scheme, url.UserPassword(user, password).String(), u.Host, url.PathEscape(vhost))
}
