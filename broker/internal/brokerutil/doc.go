// Package brokerutil holds what the broker implementations (membroker,
// rabbitmq) share so that they behave alike: splitting batches into
// message bodies, endpoint user names and passwords, the handling of one
// result message, and retry backoff.
package brokerutil
