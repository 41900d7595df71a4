package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"runtime"
	"sync"
	"time"
)

// Conn is a raw connection to a target, for an engine that speaks HTTP/1.1
// itself. Buf is its read buffer: bytes Buf[R:W] have been read from the
// connection and not consumed yet.
type Conn struct {
	net.Conn
	Buf   []byte
	R, W  int
	pool  *Pool
	shard *shard
	idle  time.Time
}

// maxIdleRaw bounds the idle raw connections a pool keeps.
const maxIdleRaw = 256

// rawBufSize is the initial read buffer of a target connection; response
// heads up to ALB's 32 KiB limit grow it.
const rawBufSize = 8 << 10

// GetConn returns an idle connection to the target, or dials a new one. It
// reports whether the connection was reused: a reused one may have been
// closed by the target meanwhile, so a request that fails on it before any
// response byte can be sent again on a new one. hint picks the shard of
// idle connections to use first (a client connection passes the same hint
// every time), so connections on different cores rarely share a lock.
func (p *Pool) GetConn(ctx context.Context, hint uint32) (c *Conn, reused bool, err error) {
	now := time.Now()
	n := uint32(len(p.shards))
	for i := uint32(0); i < n; i++ {
		sh := &p.shards[(hint+i)%n]
		if i == 0 {
			sh.mu.Lock()
		} else if !sh.mu.TryLock() {
			continue // busy elsewhere: dialing beats waiting
		}
		for len(sh.idle) > 0 {
			c = sh.idle[len(sh.idle)-1]
			sh.idle = sh.idle[:len(sh.idle)-1]
			if now.Sub(c.idle) < p.Settings.IdleTimeout {
				sh.mu.Unlock()
				c.shard = sh
				return c, true, nil
			}
			c.Conn.Close()
		}
		sh.mu.Unlock()
	}
	d := net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", p.Target.Addr)
	if err != nil {
		return nil, false, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	tr, err := track(nc, p.Target, p.Settings.IdleTimeout)
	if err != nil {
		nc.Close()
		return nil, false, err
	}
	if p.Settings.HTTPS {
		tc := tls.Client(tr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) // ALB does not verify targets
		hctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			tr.Close()
			return nil, false, err
		}
		tr = tc
	}
	return &Conn{Conn: tr, Buf: make([]byte, rawBufSize), pool: p, shard: &p.shards[hint%uint32(len(p.shards))]}, false, nil
}

// PutConn returns a connection whose last response was read completely to
// the pool for reuse. Any unread bytes mean the target sent more than it
// framed, so such a connection is closed instead.
func (p *Pool) PutConn(c *Conn) {
	if c.R != c.W {
		c.Conn.Close()
		return
	}
	c.R, c.W = 0, 0
	c.idle = time.Now()
	sh := c.shard
	sh.mu.Lock()
	if sh.closed || len(sh.idle) >= maxIdleRaw/len(p.shards)+1 {
		sh.mu.Unlock()
		c.Conn.Close()
		return
	}
	sh.idle = append(sh.idle, c)
	sh.mu.Unlock()
}

// closeIdleRaw closes the pool's idle raw connections; with forget, later
// ones are closed instead of kept.
func (p *Pool) closeIdleRaw(forget bool) {
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		idle := sh.idle
		sh.idle = nil
		if forget {
			sh.closed = true
		}
		sh.mu.Unlock()
		for _, c := range idle {
			c.Conn.Close()
		}
	}
}

// shard is one lock's worth of idle connections, padded so that shards
// used from different cores do not share a cache line.
type shard struct {
	mu     sync.Mutex
	idle   []*Conn // most recently used last
	closed bool
	_      [64]byte
}

// numShards is the number of idle-connection shards per pool: one per
// processor, at most 64.
func numShards() int { return min(max(runtime.GOMAXPROCS(0), 1), 64) }
