package brokerutil

import (
	"fmt"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/broker"
)

// SplitTasks encodes tasks as message bodies of at most max bytes each,
// in order. A single task larger than max is an error (broker.ErrTooLarge).
func SplitTasks(tasks []funcx.Task, max int) ([][]byte, error) {
	return split(tasks, broker.EncodeTasks, max, "task")
}

// SplitResults encodes results as message bodies of at most max bytes
// each, in order.
func SplitResults(results []funcx.Result, max int) ([][]byte, error) {
	return split(results, broker.EncodeResults, max, "result")
}

// split encodes the whole batch and halves it until every part fits: the
// common case (it fits) costs one encoding, and nothing here depends on
// the layout of the wire format.
func split[T any](items []T, encode func([]T) []byte, max int, what string) ([][]byte, error) {
	var bodies [][]byte
	var walk func([]T) error
	walk = func(part []T) error {
		body := encode(part)
		if len(body) <= max {
			bodies = append(bodies, body)
			return nil
		}
		if len(part) == 1 {
			return fmt.Errorf("encode %s: %d bytes, limit %d: %w", what, len(body), max, broker.ErrTooLarge)
		}
		half := len(part) / 2
		if err := walk(part[:half]); err != nil {
			return err
		}
		return walk(part[half:])
	}
	if err := walk(items); err != nil {
		return nil, err
	}
	return bodies, nil
}
