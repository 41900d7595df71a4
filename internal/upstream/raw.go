package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// Conn is a raw connection to a target, for an engine that speaks HTTP/1.1
// itself. Buf is its read buffer: bytes Buf[R:W] have been read from the
// connection and not consumed yet.
type Conn struct {
	net.Conn
	Buf  []byte
	R, W int
	pool *Pool
	idle time.Time
}

// maxIdleRaw bounds the idle raw connections a pool keeps.
const maxIdleRaw = 256

// rawBufSize is the initial read buffer of a target connection; response
// heads up to ALB's 32 KiB limit grow it.
const rawBufSize = 8 << 10

// GetConn returns an idle connection to the target, or dials a new one. It
// reports whether the connection was reused: a reused one may have been
// closed by the target meanwhile, so a request that fails on it before any
// response byte can be sent again on a new one.
func (p *Pool) GetConn(ctx context.Context) (c *Conn, reused bool, err error) {
	now := time.Now()
	p.mu.Lock()
	for len(p.idle) > 0 {
		c = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(c.idle) < p.Settings.IdleTimeout {
			p.mu.Unlock()
			return c, true, nil
		}
		c.Conn.Close()
	}
	p.mu.Unlock()
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
	return &Conn{Conn: tr, Buf: make([]byte, rawBufSize), pool: p}, false, nil
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
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdleRaw {
		p.mu.Unlock()
		c.Conn.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// closeIdleRaw closes the pool's idle raw connections.
func (p *Pool) closeIdleRaw(forget bool) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if forget {
		p.closed = true
	}
	p.mu.Unlock()
	for _, c := range idle {
		c.Conn.Close()
	}
}
