// Package listener owns the load balancer's client-facing sockets. A Socket
// accepts connections in one goroutine, layers TLS on them when its listener
// is HTTPS (the decision is made per connection, from the current
// snapshot), and hands them to an HTTP Engine.
//
// The engine behind a socket can be replaced while it serves: the new engine
// takes new connections at once and the old one finishes the connections it
// has, so a reload that changes a load balancer's timeouts drops nothing.
package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// Engine serves HTTP on the connections a listener yields.
type Engine interface {
	// Serve serves connections from ln until ln is closed or Shutdown is
	// called.
	Serve(ln net.Listener) error
	// Shutdown stops taking connections and returns once the connections
	// it has are done, or ctx ends.
	Shutdown(ctx context.Context) error
	// Close closes every connection at once.
	Close() error
}

// Socket is one bound address.
type Socket struct {
	addr   string
	ln     net.Listener
	conns  chan net.Conn
	tlsFor func() *tls.Config

	mu      sync.Mutex
	current *serving
	// retiring are engines replaced by Serve that are still finishing their
	// connections; Close waits for them too.
	retiring map[*serving]bool
	closed   bool
	done     chan struct{}
}

type serving struct {
	engine Engine
	view   *view
}

// Listen binds addr. tlsFor is called for every accepted connection and
// returns the TLS configuration to terminate with, or nil for plain HTTP.
func Listen(addr string, tlsFor func() *tls.Config) (*Socket, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return FromListener(ln, tlsFor), nil
}

// FromListener wraps an already bound listener.
func FromListener(ln net.Listener, tlsFor func() *tls.Config) *Socket {
	s := &Socket{addr: ln.Addr().String(), ln: ln, conns: make(chan net.Conn), tlsFor: tlsFor, done: make(chan struct{})}
	go s.acceptLoop()
	return s
}

// Addr is the bound address.
func (s *Socket) Addr() net.Addr { return s.ln.Addr() }

func (s *Socket) acceptLoop() {
	defer close(s.conns)
	var backoff time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, don't spin.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-s.done:
				return
			}
			continue
		}
		backoff = 0
		select {
		case s.conns <- c:
		case <-s.done:
			c.Close()
			return
		}
	}
}

// Serve makes e the engine for new connections. The previous engine, if
// any, stops accepting and finishes its connections in the background.
func (s *Socket) Serve(e Engine) {
	v := &view{s: s, stop: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.current
	s.current = &serving{engine: e, view: v}
	s.mu.Unlock()
	go e.Serve(v)
	if old != nil {
		old.view.Close()
		s.mu.Lock()
		if s.retiring == nil {
			s.retiring = map[*serving]bool{}
		}
		s.retiring[old] = true
		s.mu.Unlock()
		go func() {
			old.engine.Shutdown(context.Background())
			s.mu.Lock()
			delete(s.retiring, old)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting and shuts the engine down gracefully, together with
// any engine still retiring from an earlier Serve; when ctx ends first, it
// closes the remaining connections.
func (s *Socket) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := []*serving{}
	if s.current != nil {
		all = append(all, s.current)
	}
	for r := range s.retiring {
		all = append(all, r)
	}
	close(s.done)
	s.mu.Unlock()
	err := s.ln.Close()
	errs := make(chan error, len(all))
	for _, sv := range all {
		sv.view.Close()
		go func() {
			e := sv.engine.Shutdown(ctx)
			if e != nil {
				sv.engine.Close()
			}
			errs <- e
		}()
	}
	for range all {
		if e := <-errs; e != nil {
			err = e
		}
	}
	return err
}

// view is the net.Listener an engine serves from: it yields the socket's
// connections until it is closed.
type view struct {
	s    *Socket
	stop chan struct{}
	once sync.Once
}

func (v *view) Accept() (net.Conn, error) {
	select {
	case c, ok := <-v.s.conns:
		if !ok {
			return nil, net.ErrClosed
		}
		if cfg := v.s.tlsFor(); cfg != nil {
			return tls.Server(c, cfg), nil
		}
		return c, nil
	case <-v.stop:
		return nil, net.ErrClosed
	}
}

func (v *view) Close() error {
	v.once.Do(func() { close(v.stop) })
	return nil
}

func (v *view) Addr() net.Addr { return v.s.ln.Addr() }
