// Package engine is sluice's own HTTP/1.1 engine for client connections. It
// parses requests with package h1 (strict, allocation-free, classified the
// way ALB's desync mitigation classifies them), routes them with the current
// snapshot, and forwards them over raw keep-alive connections to targets,
// streaming bodies in both directions and tunnelling upgrades. TLS
// connections that negotiate h2 are handed to net/http's HTTP/2 server.
//
// Everything between parsing and the wire — routing, the choice of target,
// stickiness, added headers, error statuses — is the same code the net/http
// engine uses (packages router, action, balancer, lberr).
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/listener"
	"github.com/sluicelb/sluice/internal/observe"
	"github.com/sluicelb/sluice/internal/snapshot"
)

// Options configures an Engine.
type Options struct {
	// Snapshot is read at the start of every request.
	Snapshot *atomic.Pointer[snapshot.Snapshot]
	// Addr is the listener's bind address, its key in the snapshot.
	Addr string
	// IdleTimeout bounds every wait on the client: for a request's head,
	// for body bytes, for a write. Zero means 60s.
	IdleTimeout time.Duration
	// HTTP2 serves connections that negotiate h2 by ALPN; nil refuses them.
	HTTP2 http.Handler
	// ConnContext derives the base context of HTTP/2 connections.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	Clock       clock.Clock
	Log         *slog.Logger
	// Observer receives every request and connection event; nil ignores
	// them.
	Observer *observe.Observer
}

// Engine serves HTTP/1.x itself and hands h2 connections to net/http.
type Engine struct {
	o   Options
	h2  *http.Server
	h2l *chanListener

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutting atomic.Bool
	nextID   atomic.Uint32
	h2names  sync.Map      // net.Conn → [2]string{lb, listener} of h2 connections
	done     chan struct{} // closed when the last connection ends during shutdown
}

var _ listener.Engine = (*Engine)(nil)

// New returns an engine.
func New(o Options) *Engine {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	e := &Engine{o: o, conns: map[*conn]struct{}{}}
	if o.HTTP2 != nil {
		e.h2l = newChanListener()
		var p http.Protocols
		p.SetHTTP2(true)
		e.h2 = &http.Server{
			Handler:     o.HTTP2,
			Protocols:   &p,
			IdleTimeout: o.IdleTimeout,
			ConnContext: o.ConnContext,
			TLSConfig:   &tls.Config{NextProtos: []string{"h2"}},
			ErrorLog:    slog.NewLogLogger(o.Log.Handler(), slog.LevelDebug),
			ConnState:   o.Observer.ConnState(e.names),
		}
		go e.h2.Serve(e.h2l)
	}
	return e
}

// Serve accepts connections from ln until it is closed.
func (e *Engine) Serve(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go e.serve(nc)
	}
}

func (e *Engine) serve(nc net.Conn) {
	if tc, ok := nc.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), min(e.o.IdleTimeout, 10*time.Second))
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			e.o.Log.Debug("TLS handshake failed", "client", nc.RemoteAddr().String(), "err", err)
			if lb, id := e.names(); lb != "" {
				e.o.Observer.TLSError(lb, id)
			}
			nc.Close()
			return
		}
		switch tc.ConnectionState().NegotiatedProtocol {
		case acmeTLSProtocol:
			// A TLS-ALPN-01 validation: the handshake was the answer.
			nc.Close()
			return
		case "h2":
			if e.h2l == nil || !e.h2l.push(nc) {
				nc.Close()
			}
			return
		}
	}
	c := newConn(e, nc)
	if !e.track(c) {
		// Shutting down: the connection is refused (RejectedConnectionCount).
		if lb, id := e.names(); lb != "" && e.o.Observer != nil && e.o.Observer.Metrics != nil {
			e.o.Observer.Metrics.ConnRejected(lb, id)
		}
		nc.Close()
		return
	}
	c.serve()
}

func (e *Engine) track(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shutting.Load() {
		return false
	}
	e.conns[c] = struct{}{}
	c.lbName, c.listenerID = e.names()
	if c.lbName != "" {
		e.o.Observer.ConnOpened(c.lbName, c.listenerID)
	}
	return true
}

// names returns the load balancer and listener ID the engine serves now,
// for connection metrics; empty before the listener is configured.
func (e *Engine) names() (lb, listener string) {
	if snap := e.o.Snapshot.Load(); snap != nil {
		if l := snap.Listeners[e.o.Addr]; l != nil {
			return l.LB.Name, l.ID
		}
	}
	return "", ""
}

func (e *Engine) untrack(c *conn) {
	e.mu.Lock()
	if _, ok := e.conns[c]; ok && c.lbName != "" {
		e.o.Observer.ConnClosed(c.lbName, c.listenerID)
	}
	delete(e.conns, c)
	if e.shutting.Load() && len(e.conns) == 0 && e.done != nil {
		close(e.done)
		e.done = nil
	}
	e.mu.Unlock()
}

// Shutdown closes idle connections at once and lets active ones finish
// their request, then close; it returns when all are gone or ctx ends.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.shutting.Store(true)
	done := make(chan struct{})
	if len(e.conns) == 0 {
		close(done)
	} else {
		e.done = done
	}
	for c := range e.conns {
		c.closeIfIdle()
	}
	e.mu.Unlock()
	var h2err error
	if e.h2 != nil {
		e.h2l.Close()
		h2err = e.h2.Shutdown(ctx)
	}
	select {
	case <-done:
		return h2err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes every connection at once.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.shutting.Store(true)
	for c := range e.conns {
		c.nc.Close()
	}
	e.mu.Unlock()
	if e.h2 != nil {
		e.h2l.Close()
		e.h2.Close()
	}
	return nil
}

// chanListener is the net.Listener the HTTP/2 server accepts from.
type chanListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// acmeTLSProtocol is the ALPN protocol of ACME TLS-ALPN-01 validation
// (RFC 8737); such a connection carries no requests.
const acmeTLSProtocol = "acme-tls/1"
