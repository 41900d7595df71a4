// Package proxy is the request path for the net/http engine: it checks a
// request against ALB's limits, routes it with the current snapshot's rule
// table, and runs the action — a redirect, a fixed response, or a forward to
// a target chosen by the balancer, streamed in both directions.
//
// Routing, balancing, health and status mapping live in their own packages;
// this package only glues them to net/http, so another HTTP engine can reuse
// them unchanged.
package proxy

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicelb/sluice/internal/action"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/lberr"
	"github.com/sluicelb/sluice/internal/observe"
	"github.com/sluicelb/sluice/internal/router"
	"github.com/sluicelb/sluice/internal/snapshot"
	"github.com/sluicelb/sluice/internal/target"
	"github.com/sluicelb/sluice/internal/upstream"
)

// Proxy serves the requests of every listener from the current snapshot.
type Proxy struct {
	snap  *atomic.Pointer[snapshot.Snapshot]
	clock clock.Clock
	log   *slog.Logger
	rp    *httputil.ReverseProxy
	// observer receives every request; nil ignores them.
	observer *observe.Observer
}

// SetObserver sets who receives the requests served; call it before
// serving.
func (p *Proxy) SetObserver(o *observe.Observer) { p.observer = o }

// New returns a proxy reading the snapshot that cur points to at the start
// of each request. A nil clock means the wall clock; a nil logger
// slog.Default().
func New(cur *atomic.Pointer[snapshot.Snapshot], c clock.Clock, log *slog.Logger) *Proxy {
	if c == nil {
		c = clock.Real{}
	}
	if log == nil {
		log = slog.Default()
	}
	p := &Proxy{snap: cur, clock: c, log: log}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      roundTripper{},
		FlushInterval:  -1, // stream: SockJS and server-sent events must not wait in a buffer
		ErrorHandler:   p.targetError,
		ModifyResponse: p.modifyResponse,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return p
}

// Listener returns the http.Handler for the listener bound at addr.
func (p *Proxy) Listener(addr string) http.Handler {
	return listenerHandler{p: p, addr: addr}
}

type listenerHandler struct {
	p    *Proxy
	addr string
}

func (h listenerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.p.snap.Load()
	l := s.Listeners[h.addr]
	if l == nil {
		// The listener was removed after this connection was accepted.
		w.Header().Set("Connection", "close")
		writeFailure(w, lberr.ErrNoTargets)
		return
	}
	rec := newRecord(r)
	rw := &recorder{ResponseWriter: w}
	h.p.serve(rw, r, s, l, rec)
	h.p.emit(rw, r, l, rec)
}

// forward is the state of one forwarded request, carried in its context
// from the handler to the reverse proxy's callbacks.
type forward struct {
	l       *snapshot.Listener
	s       *snapshot.Snapshot
	choice  action.Choice
	route   *snapshot.Route
	target  *target.Target
	pool    *upstream.Pool
	client  netip.AddrPort
	trace   string
	retried bool
	rec     *record
	// in is the client's request as the reverse proxy first received it; a
	// retry starts from it again, not from the rewritten outgoing request.
	in *http.Request
}

type ctxKey struct{}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, s *snapshot.Snapshot, l *snapshot.Listener, rec *record) {
	if f := checkRequest(r); f != nil {
		rec.fail(f)
		writeFailure(w, f)
		return
	}
	if keepAliveExpired(r, l) {
		w.Header().Set("Connection", "close")
	}
	if !clientVerified(r, l) {
		w.Header().Set("Connection", "close")
		rec.fail(lberr.ErrClientCertificate)
		writeFailure(w, lberr.ErrClientCertificate)
		return
	}
	if l.ACMEChallenge != nil && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
		// ACME HTTP-01 validation comes before any rule.
		if body, ok := l.ACMEChallenge(r.Host, r.URL.Path); ok {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Server", "sluice")
			w.Write(body)
			return
		}
	}
	client, _ := netip.ParseAddrPort(r.RemoteAddr)
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	view := router.Request{
		Method:   r.Method,
		Host:     r.Host,
		Path:     path,
		RawQuery: r.URL.RawQuery,
		Header:   router.HeaderMap(r.Header),
		SourceIP: client.Addr().Unmap(),
	}
	a := l.Default
	i, _, evaluated, ok := l.Router.MatchCount(&view)
	if ok {
		a = l.Actions[i]
	}
	rec.MatchedRulePriority, rec.RulesEvaluated = a.Priority, evaluated
	switch a.Kind {
	case snapshot.Redirect:
		h := w.Header()
		loc := action.Location(l, a.Redirect, r.Host, r.URL.EscapedPath(), r.URL.RawQuery)
		rec.ActionsExecuted = append(rec.ActionsExecuted, "redirect")
		rec.RedirectURL = loc
		h.Set("Location", loc)
		h.Set("Server", "sluice")
		h.Set("Content-Type", "text/html")
		w.WriteHeader(a.Redirect.Status)
	case snapshot.FixedResponse:
		rec.ActionsExecuted = append(rec.ActionsExecuted, "fixed-response")
		h := w.Header()
		h.Set("Content-Type", a.Fixed.ContentType)
		h.Set("Server", "sluice")
		w.WriteHeader(a.Fixed.Status)
		w.Write(a.Fixed.Body)
	case snapshot.Forward:
		rec.ActionsExecuted = append(rec.ActionsExecuted, "forward")
		p.forward(w, r, s, l, a.Forward, client, rec)
	}
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, s *snapshot.Snapshot, l *snapshot.Listener, fa *snapshot.ForwardAction, client netip.AddrPort, rec *record) {
	now := p.clock.Now()
	fw := &forward{l: l, s: s, client: client, rec: rec}
	fw.choice = action.Choose(s, l, fa, requestCookies{r}, now)
	fw.route = fw.choice.Route
	rec.TargetGroup, rec.NonSticky = fw.route.Group.Name, fw.choice.NonSticky
	if f := action.CheckProtocolVersion(fw.route.Group.ProtocolVersion, r.ProtoMajor, r.Header.Get("Content-Type")); f != nil {
		rec.fail(f)
		writeFailure(w, f)
		return
	}
	t := fw.choice.Target
	if t == nil {
		rec.fail(lberr.ErrNoTargets)
		writeFailure(w, lberr.ErrNoTargets)
		return
	}
	rec.Target = t.Addr
	fw.target, fw.pool = t, fw.route.Pools[t]
	fw.trace = action.TraceID(r.Header.Get("X-Amzn-Trace-Id"), now)
	rec.TraceID = fw.trace
	t.Begin()
	defer func() { fw.target.End() }()
	fw.in = r.WithContext(context.WithValue(r.Context(), ctxKey{}, fw))
	p.rp.ServeHTTP(w, fw.in)
}

// roundTripper sends each request through the pool of the target chosen for
// it.
type roundTripper struct{}

func (roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	fw := req.Context().Value(ctxKey{}).(*forward)
	fw.rec.dispatched = time.Now()
	return fw.pool.Transport.RoundTrip(req)
}

// targetError runs when the target could not be reached or answered badly.
// A connection failure takes the target out at once (passive health check)
// and, for a request that can safely be sent again, retries once on another
// target.
//
// r is the outgoing request, already rewritten; the retry uses fw.in.
func (p *Proxy) targetError(w http.ResponseWriter, r *http.Request, err error) {
	fw := r.Context().Value(ctxKey{}).(*forward)
	f := lberr.Classify(err)
	if lberr.IsConnectFailure(err) || f == lberr.ErrTargetTLS {
		p.observer.TargetConnError(fw.l.LB.Name, fw.route.Group.Name, fw.target.Addr, f == lberr.ErrTargetTLS)
	}
	if lberr.IsConnectFailure(err) {
		retry := !fw.retried && action.Retryable(fw.in.Method, fw.in.ContentLength != 0 || (fw.in.Body != nil && fw.in.Body != http.NoBody))
		if t := action.ConnectFailed(fw.route, fw.target, err, p.clock.Now(), p.log, retry); t != nil {
			fw.retried = true
			fw.rec.TargetList = append(fw.rec.TargetList, fw.target.Addr)
			fw.rec.TargetStatusList = append(fw.rec.TargetStatusList, "-")
			fw.target.End()
			fw.target, fw.pool = t, fw.route.Pools[t]
			fw.rec.Target = t.Addr
			t.Begin()
			p.rp.ServeHTTP(w, fw.in)
			return
		}
	}
	fw.rec.fail(f)
	if f == lberr.ErrClientClosed {
		return // nobody to answer
	}
	p.log.Debug("forwarding failed", "target", fw.target.Addr, "status", f.Code, "reason", f.Reason, "err", err)
	writeFailure(w, f)
}

// keepAliveExpired reports whether the client connection has outlived the
// load balancer's client_keep_alive.
func keepAliveExpired(r *http.Request, l *snapshot.Listener) bool {
	cs, ok := r.Context().Value(connKey{}).(*connState)
	return ok && r.ProtoMajor == 1 && time.Since(cs.start) > l.LB.ClientKeepAlive
}

// connState is what the proxy remembers about a client connection.
type connState struct {
	start time.Time
	// verified is the client verifier the connection's certificate last
	// passed.
	verified atomic.Pointer[snapshot.ClientVerifier]
}

type connKey struct{}

// ConnContext is the ConnContext of servers whose requests reach the
// proxy: it notes when the connection was accepted.
func ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connState{start: time.Now()})
}

// clientVerified reports whether the request's client certificate passes
// the listener's current mutual TLS verification, checking it once per
// connection and verifier.
func clientVerified(r *http.Request, l *snapshot.Listener) bool {
	v := l.ClientVerifier
	if v == nil {
		return true
	}
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs != nil && cs.verified.Load() == v {
		return true
	}
	if r.TLS == nil || v.Verify(r.TLS) != nil {
		return false
	}
	if cs != nil {
		cs.verified.Store(v)
	}
	return true
}

// requestCookies adapts an http.Request to action.Cookies.
type requestCookies struct{ r *http.Request }

func (rc requestCookies) Cookie(name string) string {
	if c, err := rc.r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}
