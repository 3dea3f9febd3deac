package rabbitmq

import (
	"context"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/funcx-go/funcx/broker"
)

// pool holds the service's publishing connections, one per endpoint
// virtual host, each opened at its first use and dialed again when
// lost. Publishing and consuming never share a connection: RabbitMQ
// blocks a publishing connection under a resource alarm, and the acks of
// a consumer on it would then wait too.
type pool struct {
	mu     sync.Mutex
	conns  map[string]*pubConn // by endpoint ID
	closed bool
}

// pubConn is one endpoint's publishing connection and its confirm
// channels.
type pubConn struct {
	mu   sync.Mutex // guards conn, pubs and next; held while dialing
	conn *amqp.Connection
	pubs []*confirmCh
	next int
}

func newPool() pool { return pool{conns: make(map[string]*pubConn)} }

// get returns the endpoint's entry, made if needed.
func (p *pool) get(id string, channels int) (*pubConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, broker.ErrClosed
	}
	pc := p.conns[id]
	if pc == nil {
		pc = &pubConn{pubs: make([]*confirmCh, channels)}
		p.conns[id] = pc
	}
	return pc, nil
}

// drop closes and forgets the endpoint's connection.
func (p *pool) drop(id string) {
	p.mu.Lock()
	pc := p.conns[id]
	delete(p.conns, id)
	p.mu.Unlock()
	if pc != nil {
		pc.close()
	}
}

// close closes every connection; get fails from now on.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
}

func (pc *pubConn) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, c := range pc.pubs {
		if c != nil {
			c.close()
		}
	}
	clear(pc.pubs)
	if pc.conn != nil {
		_ = pc.conn.Close()
		pc.conn = nil
	}
}

// connLocked returns the connection, dialing it if needed.
func (pc *pubConn) connLocked(ctx context.Context, dial func(context.Context) (*amqp.Connection, error)) (*amqp.Connection, error) {
	if pc.conn != nil && !pc.conn.IsClosed() {
		return pc.conn, nil
	}
	conn, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	pc.conn = conn
	clear(pc.pubs)
	return conn, nil
}

// publisher returns the endpoint's confirm channels round robin, opening
// them (and the connection) as needed.
func (s *Service) publisher(ctx context.Context, id string) (*confirmCh, error) {
	pc, err := s.pool.get(id, s.cfg.PublishChannels)
	if err != nil {
		return nil, err
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	conn, err := pc.connLocked(ctx, s.dialer(id, "publish"))
	if err != nil {
		return nil, err
	}
	i := pc.next % len(pc.pubs)
	pc.next++
	if c := pc.pubs[i]; c != nil && !c.closed() {
		return c, nil
	}
	c, err := newConfirmCh(conn)
	if err != nil {
		return nil, err
	}
	pc.pubs[i] = c
	return c, nil
}

// withChannel runs fn on a fresh channel of the endpoint's publishing
// connection: a failed declaration closes its channel, so none is
// shared.
func (s *Service) withChannel(ctx context.Context, id string, fn func(*amqp.Channel) error) error {
	pc, err := s.pool.get(id, s.cfg.PublishChannels)
	if err != nil {
		return err
	}
	pc.mu.Lock()
	conn, err := pc.connLocked(ctx, s.dialer(id, "publish"))
	pc.mu.Unlock()
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", classify(err))
	}
	defer ch.Close()
	return fn(ch)
}
