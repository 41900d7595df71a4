package listener

import (
	"context"
	"crypto/tls"
	"log"
	"net"
	"net/http"
	"time"
)

// HTTPOptions configures the net/http engine.
type HTTPOptions struct {
	Handler http.Handler
	// IdleTimeout closes a keep-alive connection with no request for this
	// long and bounds the wait for a request's headers. Zero means 60s.
	IdleTimeout time.Duration
	// HTTP2 offers h2 by ALPN on TLS connections.
	HTTP2 bool
	// ConnContext, if set, derives each connection's base context.
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// ErrorLog receives net/http's own messages (TLS handshake errors and
	// the like). Nil discards them.
	ErrorLog *log.Logger
	// ConnState, if set, is told of every connection's state changes.
	ConnState func(net.Conn, http.ConnState)
}

// maxHeaderBytes lets requests well past ALB's limits (a 16 KiB request line
// and 64 KiB of headers) reach the handler, which answers them with ALB's
// statuses; only beyond this does net/http answer 431 itself.
const maxHeaderBytes = 256 << 10

// NewHTTPEngine returns an engine built on net/http's server, which also
// serves HTTP/2 on TLS connections that negotiate h2.
func NewHTTPEngine(o HTTPOptions) Engine {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.ErrorLog == nil {
		o.ErrorLog = log.New(discard{}, "", 0)
	}
	srv := &http.Server{
		Handler:           o.Handler,
		ReadHeaderTimeout: o.IdleTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       o.ConnContext,
		ErrorLog:          o.ErrorLog,
		ConnState:         o.ConnState,
	}
	var p http.Protocols
	p.SetHTTP1(true)
	if o.HTTP2 {
		p.SetHTTP2(true)
		srv.TLSConfig = &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	} else {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	srv.Protocols = &p
	return httpEngine{srv}
}

type httpEngine struct{ srv *http.Server }

func (e httpEngine) Serve(ln net.Listener) error {
	err := e.srv.Serve(ln)
	if err == http.ErrServerClosed {
		return nil
	}
	return err
}

func (e httpEngine) Shutdown(ctx context.Context) error { return e.srv.Shutdown(ctx) }
func (e httpEngine) Close() error                       { return e.srv.Close() }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
