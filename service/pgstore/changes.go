package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/funcx-go/funcx/service"
)

// Kinds of change in a notification's payload.
const (
	kindResults = "r"
	kindDeleted = "d"
	kindReady   = "e"
)

// change is the JSON payload of a notification on the schema's channel:
// what a transaction changed, for the other processes on the store.
type change struct {
	// Origin is the store that sent it, which ignores its own.
	Origin   string   `json:"o"`
	Kind     string   `json:"k"`
	Endpoint string   `json:"e,omitempty"`
	Owners   []string `json:"w,omitempty"`
	// All stands for every owner, when Owners would not fit.
	All  bool  `json:"a,omitempty"`
	Last int64 `json:"l,omitempty"`
}

// maxPayload keeps a payload below PostgreSQL's 8000 bytes.
const maxPayload = 7000

// encode returns c's payload; one naming too many owners names all.
func (c change) encode() string {
	b, _ := json.Marshal(c) // strings and numbers always encode
	if len(b) > maxPayload {
		c.Owners, c.All = nil, true
		b, _ = json.Marshal(c)
	}
	return string(b)
}

// decodeChange reads a notification's payload. Payloads come from other
// processes (other versions, too): anything this one does not know is an
// error, and the caller resynchronizes.
func decodeChange(payload string) (change, service.Change, error) {
	var c change
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		return c, service.Change{}, fmt.Errorf("undecodable change %.80q: %w", payload, err)
	}
	out := service.Change{EndpointID: c.Endpoint, Owners: c.Owners, AllOwners: c.All, LastSeq: c.Last}
	switch c.Kind {
	case kindResults:
		out.Kind = service.ChangeResults
	case kindDeleted:
		out.Kind = service.ChangeEndpointDeleted
	case kindReady:
		out.Kind = service.ChangeEndpointReady
	default:
		return c, service.Change{}, fmt.Errorf("change of unknown kind %q", c.Kind)
	}
	if c.Last < 0 || (out.Kind != service.ChangeResults && c.Endpoint == "") {
		return c, service.Change{}, fmt.Errorf("change %.80q is incomplete", payload)
	}
	return c, out, nil
}

// resultsChange is the change of stored results: their owners and their
// highest seq.
func resultsChange(stored []service.ResultRecord) change {
	c := change{Kind: kindResults}
	for i := range stored {
		c.Last = max(c.Last, stored[i].Seq)
		if !slices.Contains(c.Owners, stored[i].Owner) {
			c.Owners = append(c.Owners, stored[i].Owner)
		}
	}
	return c
}

// notify sends c on the schema's channel as part of tx: PostgreSQL
// delivers it when tx commits, in commit order, and never if it rolls
// back.
func (s *Store) notify(ctx context.Context, tx pgx.Tx, c change) error {
	c.Origin = s.origin
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, c.encode()); err != nil {
		return fmt.Errorf("notify the other service processes: %w", err)
	}
	return nil
}

// AnnounceEndpoint tells the other processes on the store that the
// endpoint is set up; see service.SharedStore.
func (s *Store) AnnounceEndpoint(ctx context.Context, endpointID string) error {
	c := change{Origin: s.origin, Kind: kindReady, Endpoint: endpointID}
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel, c.encode()); err != nil {
		return fmt.Errorf("pgstore: announce endpoint %s: %w", endpointID, err)
	}
	return nil
}

// Timings of WatchChanges.
const (
	// checkListenAfter is how long the listening connection may be quiet
	// before WatchChanges checks that it is alive.
	checkListenAfter = 30 * time.Second
	// checkTimeout bounds that check.
	checkTimeout = 10 * time.Second
	// minRelisten and maxRelisten bound the pause before listening
	// again after a failure.
	minRelisten, maxRelisten = 100 * time.Millisecond, 5 * time.Second
)

// WatchChanges listens on the schema's channel on a connection of its
// own and calls fn with the other processes' changes, until ctx ends or
// the store is closed; see service.SharedStore. A lost or silent
// connection (checked after checkListenAfter without a notification) is
// replaced, and fn told ChangeResync, as it is when the watch begins.
func (s *Store) WatchChanges(ctx context.Context, fn func(service.Change)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.closing, cancel)
	defer stop()
	pause := minRelisten
	for {
		began := time.Now()
		err := s.listen(ctx, fn)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > time.Minute {
			pause = minRelisten
		}
		s.log.Warn("lost the notifications of the other service processes; listening again", "err", err, "in", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		pause = min(2*pause, maxRelisten)
	}
}

// listen runs one listening connection until it fails or ctx ends.
func (s *Store) listen(ctx context.Context, fn func(service.Change)) error {
	conn, err := pgx.ConnectConfig(ctx, s.listenCfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen on %s: %w", s.channel, err)
	}
	fn(service.Change{Kind: service.ChangeResync})
	for {
		wctx, cancel := context.WithTimeout(ctx, checkListenAfter)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// Quiet: make sure the connection still answers.
			pctx, cancel := context.WithTimeout(ctx, checkTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("check the listening connection: %w", err)
			}
			continue
		case err != nil:
			return fmt.Errorf("wait for notifications: %w", err)
		}
		c, out, err := decodeChange(n.Payload)
		if err != nil {
			// Another version's change, maybe: whatever it was, read
			// everything again.
			s.log.Warn("dropped a notification this version does not understand; resynchronizing", "err", err)
			fn(service.Change{Kind: service.ChangeResync})
			continue
		}
		if c.Origin != s.origin {
			fn(out)
		}
	}
}
