// Package demo provides the small HTTP backends that `sluice demo` starts
// in-process behind its listener, so a user can watch round robin, health
// checks, streaming and WebSockets work in a browser or with curl.
//
// Every backend serves:
//
//	GET  /            HTML page naming the backend and showing what the load
//	                  balancer forwarded; text/plain when Accept lacks text/html
//	GET  /health      200 "ok", or 503 "unhealthy" after POST /health/fail
//	POST /health/fail make /health answer 503
//	POST /health/ok   make /health answer 200 again
//	GET  /chat        HTML page with a WebSocket chat
//	GET  /chat/ws     WebSocket endpoint of the chat
//	GET  /stream      five lines "tick N from <name>", one every 200ms, flushed
//	GET|POST /echo    the request as received: request line, headers, body
//
// Every response carries an X-Backend header naming the backend, so tests and
// curl -i can tell which target answered.
package demo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Limits that keep a demo backend bounded no matter what clients send.
const (
	readHeaderTimeout = 5 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	maxEchoBody       = 1 << 20
)

// Backend is one running demo backend. Create it with Start and stop it with
// Close.
type Backend struct {
	// Name identifies the backend in every page and message, e.g. "backend-1".
	Name string
	// Addr is the host:port the backend listens on, with the real port when
	// Start was given port 0.
	Addr string

	srv       *http.Server
	chat      *hub
	unhealthy atomic.Bool // set by POST /health/fail, cleared by POST /health/ok
	done      chan struct{}
	serveErr  error // written before done is closed
	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves the demo
// endpoints under name in a background goroutine until Close is called.
func Start(name, addr string) (*Backend, error) {
	if name == "" {
		return nil, errors.New("demo backend: empty name")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo backend %s: listening on %s: %w", name, addr, err)
	}
	b := &Backend{
		Name: name,
		Addr: ln.Addr().String(),
		chat: newHub(name),
		done: make(chan struct{}),
	}
	b.srv = &http.Server{
		Handler:           b.handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// No ReadTimeout or WriteTimeout: /stream and /chat/ws are long-lived
		// on purpose. Bodies are bounded by size instead (maxEchoBody).
	}
	go func() {
		defer close(b.done)
		if err := b.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			b.serveErr = err
		}
	}()
	return b, nil
}

// Close stops the backend: it closes the listener and every connection,
// including WebSockets (which get a "going away" close frame), and waits for
// them to finish. It returns the first error met while serving or closing.
// Calling Close more than once returns the same result.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		err := b.srv.Close()
		// http.Server.Close does not track hijacked connections, so the chat
		// hub closes its WebSockets itself.
		b.chat.close()
		<-b.done
		b.closeErr = errors.Join(b.serveErr, err)
	})
	return b.closeErr
}

// handler routes the demo endpoints.
func (b *Backend) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", b.serveIndex)
	mux.HandleFunc("GET /health", b.serveHealth)
	mux.HandleFunc("POST /health/fail", b.setHealth(false))
	mux.HandleFunc("POST /health/ok", b.setHealth(true))
	mux.HandleFunc("GET /chat", b.serveChatPage)
	mux.Handle("GET /chat/ws", b.chat)
	mux.HandleFunc("GET /stream", b.serveStream)
	mux.HandleFunc("GET /echo", b.serveEcho)
	mux.HandleFunc("POST /echo", b.serveEcho)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Backend", b.Name)
		// Pages must never come from a cache: each reload has to reach the
		// load balancer for round robin to show.
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// serveHealth answers the load balancer's health checks.
func (b *Backend) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if b.unhealthy.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unhealthy")
		return
	}
	fmt.Fprintln(w, "ok")
}

// setHealth returns a handler that makes /health answer 200 (healthy) or 503.
func (b *Backend) setHealth(healthy bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.unhealthy.Store(!healthy)
		code := http.StatusOK
		if !healthy {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s: /health now answers %d\n", b.Name, code)
	}
}
