package main

import (
	"fmt"
	"log/slog"

	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/broker/rabbitmq"
)

// brokerFlags choose and reach the broker.
type brokerFlags struct {
	AMQPURL         string `name:"amqp-url" env:"FUNCX_AMQP_URL" default:"amqp://guest:guest@localhost:5672/" placeholder:"URL" help:"AMQP URL of RabbitMQ, with a user that may declare and delete the endpoints' queues (default: ${default})."`
	RabbitMQAPI     string `name:"rabbitmq-api" env:"FUNCX_RABBITMQ_API" placeholder:"URL" help:"RabbitMQ management API base URL with administrator credentials, e.g. http://admin:pw@rabbit:15672 (default: port 15672 of the AMQP host, as the AMQP user)."`
	EndpointAMQPURL string `name:"endpoint-amqp-url" env:"FUNCX_ENDPOINT_AMQP_URL" placeholder:"URL" help:"AMQP URL endpoints dial (scheme, host, port) as they see RabbitMQ (default: the --amqp-url host)."`
	VhostPrefix     string `name:"endpoint-vhost-prefix" env:"FUNCX_ENDPOINT_VHOST_PREFIX" default:"funcx-ep-" placeholder:"PREFIX" help:"Prefix of the RabbitMQ virtual host of each endpoint (prefix + endpoint ID); give services sharing one RabbitMQ different ones (default: ${default})."`
	InProcessBroker bool   `name:"in-process-broker" help:"Use an in-process broker instead of RabbitMQ, to try the API: only endpoints inside this process could reach it, so tasks wait forever."`
}

// endpointLimits are the RabbitMQ user limits of each endpoint, set when
// it registers.
type endpointLimits struct {
	MaxConnections int `name:"endpoint-max-connections" env:"FUNCX_ENDPOINT_MAX_CONNECTIONS" default:"4" placeholder:"N" help:"RabbitMQ connections each endpoint's broker user may hold open at once, -1 for no limit; applies from an endpoint's next registration (default: ${default})."`
	MaxChannels    int `name:"endpoint-max-channels" env:"FUNCX_ENDPOINT_MAX_CHANNELS" default:"16" placeholder:"N" help:"RabbitMQ channels each endpoint's broker user may hold open over all its connections, -1 for no limit; applies from an endpoint's next registration (default: ${default})."`
}

// newBroker builds the broker the flags name; lim of zero gives the
// defaults.
func newBroker(f *brokerFlags, lim endpointLimits, log *slog.Logger) (broker.Service, error) {
	if f.InProcessBroker {
		b, err := membroker.New(membroker.Config{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("start in-process broker: %w", err)
		}
		return b, nil
	}
	b, err := rabbitmq.New(rabbitmq.Config{
		URL:                    f.AMQPURL,
		ManagementURL:          f.RabbitMQAPI,
		EndpointURL:            f.EndpointAMQPURL,
		VhostPrefix:            f.VhostPrefix,
		EndpointMaxConnections: lim.MaxConnections,
		EndpointMaxChannels:    lim.MaxChannels,
		Logger:                 log,
	})
	if err != nil {
		return nil, fmt.Errorf("configure RabbitMQ: %w", err)
	}
	return b, nil
}
