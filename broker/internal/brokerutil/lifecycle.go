package brokerutil

import (
	"fmt"
	"sync"

	"github.com/funcx-go/funcx/broker"
)

// Lifecycle is how an endpoint connection ends, shared by the
// implementations of broker.EndpointConn: the first cause recorded wins,
// Stopping is closed at once, Done once the connection's goroutines have
// stopped. Embedded, it provides Done and Err.
type Lifecycle struct {
	once     sync.Once
	err      error // set before stopping is closed
	stopping chan struct{}
	done     chan struct{}
}

// NewLifecycle returns the Lifecycle of an open connection.
func NewLifecycle() Lifecycle {
	return Lifecycle{stopping: make(chan struct{}), done: make(chan struct{})}
}

// End records why the connection ends, if no cause was recorded yet,
// and closes Stopping.
func (l *Lifecycle) End(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.stopping)
	})
}

// Stopping is closed by End.
func (l *Lifecycle) Stopping() <-chan struct{} { return l.stopping }

// Stopped closes Done; call it once, when the goroutines have stopped.
func (l *Lifecycle) Stopped() { close(l.done) }

// Done is closed when the connection has ended.
func (l *Lifecycle) Done() <-chan struct{} { return l.done }

// Err is nil while the connection is open, then why it ended:
// broker.ErrClosed after Close.
func (l *Lifecycle) Err() error {
	select {
	case <-l.done:
		return l.err
	default:
		return nil
	}
}

// Usable fails once the connection is ending.
func (l *Lifecycle) Usable() error {
	select {
	case <-l.stopping:
		return fmt.Errorf("connection ended: %w", l.err)
	default:
		return nil
	}
}

// Close ends the connection with broker.ErrClosed and waits until it has.
func (l *Lifecycle) Close() error {
	l.End(broker.ErrClosed)
	<-l.done
	return nil
}
