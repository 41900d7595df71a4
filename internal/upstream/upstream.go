// Package upstream owns the connections from the load balancer to its
// targets: one keep-alive pool per target and transport settings, dialing
// with a connect timeout, the idle timeout on every connection, and tracking
// so that a drained target's connections (WebSockets included) are closed
// when its deregistration delay ends.
package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelb/sluice/internal/lberr"
	"github.com/sluicelb/sluice/internal/target"
)

// ConnectTimeout bounds establishing a TCP connection to a target, as ALB's
// 10 second connect timeout does.
const ConnectTimeout = 10 * time.Second

// Settings are the transport settings that decide which pool a request uses.
type Settings struct {
	// HTTPS selects TLS to the target. Target certificates are not
	// verified, as on ALB.
	HTTPS bool
	// HTTP2 speaks HTTP/2 to the target (h2c without TLS); otherwise
	// HTTP/1.1.
	HTTP2 bool
	// IdleTimeout closes a connection on which nothing moved, in either
	// direction, for this long; it also bounds the wait for response
	// headers. Zero means 60s.
	IdleTimeout time.Duration
}

// Pool is the connections to one target with one set of settings.
type Pool struct {
	Target    *target.Target
	Settings  Settings
	Transport *http.Transport

	shards []shard // idle raw connections
}

func newPool(t *target.Target, s Settings) *Pool {
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 60 * time.Second
	}
	p := &Pool{Target: t, Settings: s, shards: make([]shard, numShards())}
	d := &net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, t.Addr)
			if err != nil {
				return nil, err
			}
			return track(c, t, s.IdleTimeout)
		},
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     s.IdleTimeout,
		// A little under the connection's own idle deadline, so that the
		// transport's timeout fires first: a read error on a reused
		// connection would make it send an idempotent request again.
		ResponseHeaderTimeout: s.IdleTimeout - min(s.IdleTimeout/20, 250*time.Millisecond),
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		TLSHandshakeTimeout:   ConnectTimeout,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: true}, // ALB does not verify target certificates
	}
	var protos http.Protocols
	switch {
	case s.HTTP2 && s.HTTPS:
		protos.SetHTTP2(true)
	case s.HTTP2:
		protos.SetUnencryptedHTTP2(true)
	default:
		protos.SetHTTP1(true)
	}
	tr.Protocols = &protos
	p.Transport = tr
	return p
}

// Scheme is "https" or "http".
func (p *Pool) Scheme() string {
	if p.Settings.HTTPS {
		return "https"
	}
	return "http"
}

type poolKey struct {
	t *target.Target
	s Settings
}

// Pools caches pools by target and settings so that a reload that keeps a
// target keeps its idle connections.
type Pools struct {
	mu sync.Mutex
	m  map[poolKey]*Pool
}

// NewPools returns an empty cache.
func NewPools() *Pools { return &Pools{m: map[poolKey]*Pool{}} }

// Get returns the pool for t with settings s, creating it if needed.
func (ps *Pools) Get(t *target.Target, s Settings) *Pool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	k := poolKey{t, s}
	if p, ok := ps.m[k]; ok {
		return p
	}
	p := newPool(t, s)
	ps.m[k] = p
	return p
}

// Retain forgets every pool not in keep and closes its idle connections.
// Connections in use finish their requests; a drained target's are closed by
// its drain.
func (ps *Pools) Retain(keep map[*Pool]bool) {
	ps.mu.Lock()
	var drop []*Pool
	for k, p := range ps.m {
		if !keep[p] {
			drop = append(drop, p)
			delete(ps.m, k)
		}
	}
	ps.mu.Unlock()
	for _, p := range drop {
		p.Transport.CloseIdleConnections()
		p.closeIdleRaw(true)
	}
}

// CloseIdle closes every pool's idle connections.
func (ps *Pools) CloseIdle() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.m {
		p.Transport.CloseIdleConnections()
		p.closeIdleRaw(false)
	}
}

// conn is a target connection that enforces the idle timeout across both
// directions and unregisters itself from its target when closed.
type conn struct {
	net.Conn
	t      *target.Target
	idle   time.Duration
	last   atomic.Int64 // unix nanos of the last successful read or write
	closed atomic.Bool
	// armedR and armedW are the deadlines currently set; each is used by
	// one goroutine (the reader or the writer).
	armedR, armedW time.Time
}

func track(c net.Conn, t *target.Target, idle time.Duration) (net.Conn, error) {
	tc := &conn{Conn: c, t: t, idle: idle}
	tc.last.Store(time.Now().UnixNano())
	if !t.TrackConn(tc) {
		return nil, net.ErrClosed
	}
	return tc, nil
}

func (c *conn) Read(b []byte) (int, error) {
	for {
		// Re-arm only when the deadline set is getting close; a timeout
		// that comes early is checked against the last activity below.
		if d := c.deadline(); c.armedR.Sub(time.Now()) < c.idle/2 || c.armedR.After(d) {
			c.armedR = d
			c.Conn.SetReadDeadline(d)
		}
		n, err := c.Conn.Read(b)
		if n > 0 {
			c.last.Store(time.Now().UnixNano())
		}
		if err != nil && n == 0 && isTimeout(err) && time.Now().Before(c.deadline()) {
			c.armedR = time.Time{} // the other direction was active: not idle
			continue
		}
		return n, err
	}
}

func (c *conn) Write(b []byte) (int, error) {
	written := 0
	for {
		if d := c.deadline(); c.armedW.Sub(time.Now()) < c.idle/2 || c.armedW.After(d) {
			c.armedW = d
			c.Conn.SetWriteDeadline(d)
		}
		n, err := c.Conn.Write(b[written:])
		written += n
		if n > 0 {
			c.last.Store(time.Now().UnixNano())
		}
		if err != nil && isTimeout(err) && time.Now().Before(c.deadline()) {
			c.armedW = time.Time{} // the other direction was active: not idle
			continue
		}
		return written, err
	}
}

// deadline is when the connection counts as idle: the idle timeout after
// the last byte moved in either direction.
func (c *conn) deadline() time.Time {
	return time.Unix(0, c.last.Load()).Add(c.idle)
}

func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.t.UntrackConn(c)
	return c.Conn.Close()
}

func isTimeout(err error) bool { return lberr.IsTimeout(err) }
