package broker

import (
	"encoding/json"
	"fmt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
)

// AMQP message types (the Type property) and the content type of batches.
const (
	TypeTasks       = "tasks"
	TypeResults     = "results"
	TypeHeartbeat   = "heartbeat"
	ContentTypeWire = "application/vnd.funcx.batch; v=1"
	ContentTypeJSON = "application/json"
)

// DefaultMaxMessage bounds one message's body: a batch larger than this is
// split by publishers and refused by consumers.
const DefaultMaxMessage = 16 << 20

// EncodeTasks is a task batch's message body.
func EncodeTasks(tasks []funcx.Task) []byte { return wire.AppendTasks(nil, tasks) }

// EncodeResults is a result batch's message body.
func EncodeResults(results []funcx.Result) []byte { return wire.AppendResults(nil, results) }

// EncodeHeartbeat is a heartbeat's message body.
func EncodeHeartbeat(hb Heartbeat) []byte {
	b, _ := json.Marshal(hb) // plain values always encode
	return b
}

// DecodeTasks decodes a task batch from a delivery.
func DecodeTasks(typ string, body []byte) ([]funcx.Task, error) {
	if typ != TypeTasks {
		return nil, fmt.Errorf("broker: message of type %q on a task queue", typ)
	}
	if len(body) > DefaultMaxMessage {
		return nil, fmt.Errorf("broker: task batch of %d bytes exceeds %d", len(body), DefaultMaxMessage)
	}
	tasks, err := wire.DecodeTasks(body)
	if err != nil {
		return nil, fmt.Errorf("broker: decode task batch: %w", err)
	}
	return tasks, nil
}

// DecodeMessage decodes a message from an endpoint's results queue.
func DecodeMessage(typ string, body []byte) (Message, error) {
	if len(body) > DefaultMaxMessage {
		return Message{}, fmt.Errorf("broker: %s message of %d bytes exceeds %d", typ, len(body), DefaultMaxMessage)
	}
	switch typ {
	case TypeResults:
		rs, err := wire.DecodeResults(body)
		if err != nil {
			return Message{}, fmt.Errorf("broker: decode result batch: %w", err)
		}
		return Message{Results: rs}, nil
	case TypeHeartbeat:
		var hb Heartbeat
		if err := json.Unmarshal(body, &hb); err != nil {
			return Message{}, fmt.Errorf("broker: decode heartbeat: %w", err)
		}
		return Message{Heartbeat: &hb}, nil
	default:
		return Message{}, fmt.Errorf("broker: unknown message type %q", typ)
	}
}
