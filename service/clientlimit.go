package service

import (
	"net"
	"net/netip"
	"sync"
)

// clientLimiter caps the requests of one client address that are in
// flight before their bearer token was checked
// (Config.MaxUnauthenticatedPerClient): a client without a valid token
// cannot hold more than that many of the service's connections and
// goroutines, however slowly it sends.
type clientLimiter struct {
	max int
	mu  sync.Mutex
	n   map[netip.Prefix]int // only clients with requests in flight
}

func newClientLimiter(max int) *clientLimiter {
	return &clientLimiter{max: max, n: make(map[netip.Prefix]int)}
}

// acquire takes a slot for the client at remoteAddr (a Request.RemoteAddr).
// It returns the client's key and false if the client already holds max.
func (l *clientLimiter) acquire(remoteAddr string) (netip.Prefix, bool) {
	k := clientKey(remoteAddr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[k] >= l.max {
		return k, false
	}
	l.n[k]++
	return k, true
}

// release gives back a slot taken by acquire.
func (l *clientLimiter) release(k netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[k]--; l.n[k] <= 0 {
		delete(l.n, k)
	}
}

// clientKey is who a request comes from: its IPv4 address, or the /64
// of its IPv6 address, since one IPv6 client usually holds a whole /64.
// An address that does not parse (a Unix socket's) is one shared client.
func clientKey(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits) // never fails for these bit counts
	return p
}
