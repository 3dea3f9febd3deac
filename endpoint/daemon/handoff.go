package daemon

import (
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service/api"
)

// Handoff is an endpoint's registration as its daemon needs it: the
// endpoint ID, the broker credentials and the CA the broker's
// certificate is checked against. It holds the broker password,
// so Spawn passes it through a pipe, never argv or the environment.
type Handoff struct {
	EndpointID string                `json:"endpoint_id"`
	Broker     api.BrokerCredentials `json:"broker"`
	// BrokerCAFile is a PEM file of CA certificates trusted, besides the
	// system's roots, for the certificate of an amqps:// broker
	// (BrokerCAFile finds it), absolute. Empty: the system's roots only.
	BrokerCAFile string `json:"broker_ca_file,omitempty"`
}

// credentials are the broker credentials of h.
func (h Handoff) credentials() broker.Credentials {
	return broker.Credentials{URL: h.Broker.URL, Username: h.Broker.Username, Password: h.Broker.Password,
		TaskQueue: h.Broker.TaskQueue, ResultExchange: h.Broker.ResultExchange}
}

// report is a daemon's one message to Spawn: up, or why not.
type report struct {
	Ready bool   `json:"ready"`
	PID   int    `json:"pid"`
	Error string `json:"error,omitempty"`
}

// StatusFD is the file descriptor on which a daemon started by Spawn
// reports whether it came up (the child's ExtraFiles[0]).
const StatusFD = 3
