package engine

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sluicelb/sluice/internal/accesslog"
	"github.com/sluicelb/sluice/internal/action"
	"github.com/sluicelb/sluice/internal/h1"
	"github.com/sluicelb/sluice/internal/lberr"
	"github.com/sluicelb/sluice/internal/router"
	"github.com/sluicelb/sluice/internal/snapshot"
)

// Buffer sizes. A head may grow the read buffer to ALB's limits (a 16 KiB
// request line and 64 KiB of headers).
const (
	readBufSize = 4 << 10
	maxHead     = 16<<10 + 64<<10 + 2
	scratchSize = 32 << 10
)

var scratchPool = sync.Pool{New: func() any { b := make([]byte, scratchSize); return &b }}

// conn is one client connection served by the engine.
type conn struct {
	e      *Engine
	id     uint32 // numbers connections; picks their shard of target connections
	nc     net.Conn
	https  bool
	client netip.AddrPort
	// clientIP and clientIPPort are the client's address as
	// X-Forwarded-For shows it, formatted once per connection.
	clientIP, clientIPPort string
	start                  time.Time
	in                     src
	req                    h1.Request
	resp                   h1.Response
	xff                    []string
	wbuf                   []byte
	hv                     headerView
	// view is reused per request: passed through the router's condition
	// interfaces, a local one would escape to the heap.
	view   router.Request
	active atomic.Bool
	closed atomic.Bool
	wArmed time.Time // the write deadline currently set
	// idleSince is when the connection last started waiting for a request.
	idleSince time.Time
	// tlsHdr is the header block the load balancer adds for this TLS
	// connection (X-Amzn-Tls-*, X-Amzn-Mtls-*), built for tlsHdrFor.
	tlsHdr    []byte
	tlsHdrFor snapshot.TLSHeaders
	// verified is the client verifier the connection's certificate last
	// passed.
	verified *snapshot.ClientVerifier

	// rec is the entry of the request being served, for the metrics and
	// the access log; see begin and emit.
	rec                            accesslog.Entry
	reqStart, dispatched, respHead time.Time
	recvMark, sentMark             int64
	// sent counts the bytes written to the client.
	sent     int64
	upgraded bool
	urlBuf   []byte
	traceBuf []byte
	// tlsCipher, tlsVersion and sni describe the TLS connection, for the
	// access log; computed at its first logged request.
	tlsCipher, tlsVersion, sni string
	// lbName and listenerID name the listener the connection counts
	// against in the connection metrics, fixed when it opened.
	lbName, listenerID string
	// recL is the listener that served the request being recorded; nil
	// when none did (a request that never parsed).
	recL *snapshot.Listener
}

func newConn(e *Engine, nc net.Conn) *conn {
	c := &conn{e: e, nc: nc, start: time.Now(), id: e.nextID.Add(1)}
	_, c.https = nc.(*tls.Conn)
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.client = ta.AddrPort()
	}
	c.clientIP, c.clientIPPort = action.ClientAddr(c.client)
	c.in = src{c: nc, idle: e.o.IdleTimeout}
	c.hv.req = &c.req
	return c
}

// closeIfIdle closes the connection if it is waiting for a request; an
// active one closes itself after its response because the engine is
// shutting down.
func (c *conn) closeIfIdle() {
	if !c.active.Load() {
		// Wake whatever wait the connection is in; it sees the engine
		// shutting down and closes (a request already under way finishes).
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// serve runs the connection's request loop. When the connection goes idle
// it hands over to a fresh goroutine (see idle) and returns; finish ends
// the connection for good.
func (c *conn) serve() {
	for {
		c.active.Store(false)
		if c.e.shutting.Load() {
			c.finish()
			return
		}
		c.acquireBuf()
		if c.in.r == c.in.w {
			switch c.waitHot() {
			case hotClosed:
				c.finish()
				return
			case hotIdle:
				// This goroutine's stack grew while serving; a new one
				// waits with a small stack, so idle clients cost little.
				c.releaseBuf()
				go c.idle()
				return
			}
		}
		if !c.readHead() {
			// The connection ends here: what was read of a request that
			// never parsed still counts as received.
			c.in.r = c.in.w
			c.emit()
			c.finish()
			return
		}
		c.active.Store(true)
		keep := c.handle()
		c.emit()
		if !keep || c.e.shutting.Load() {
			c.finish()
			return
		}
	}
}

// finish closes the connection and forgets it.
func (c *conn) finish() {
	c.releaseBuf()
	c.nc.Close()
	c.e.untrack(c)
}

// readHead reads until a complete request head is buffered, answering the
// request itself (and returning false) when it never can be.
func (c *conn) readHead() bool {
	c.begin()
	// The whole head must arrive within the idle timeout of its first
	// byte, however slowly it trickles in (slowloris).
	var started time.Time
	for {
		n, err := h1.ParseRequest(c.in.buffered(), &c.req, h1.Limits{})
		if err == nil {
			c.in.r += n
			return true
		}
		if err != h1.ErrIncomplete {
			c.classify()
			var pe *h1.Error
			if errors.As(err, &pe) {
				c.failStatus(pe.Status, pe.Msg)
			} else {
				c.fail(lberr.ErrMalformed, true)
			}
			return false
		}
		if started.IsZero() {
			started = time.Now()
		} else if time.Since(started) > c.e.o.IdleTimeout {
			c.fail(lberr.ErrRequestTimeout, true)
			return false
		}
		if err := c.in.fill(maxHead); err != nil {
			switch {
			case errors.Is(err, errHeadTooLarge):
				c.fail(lberr.ErrHeaderTooLarge, true)
			case isTimeout(err) && c.in.r != c.in.w:
				c.fail(lberr.ErrRequestTimeout, true)
			}
			return false
		}
	}
}

// handle serves one request whose head is parsed; it reports whether the
// connection may serve another.
func (c *conn) handle() bool {
	req := &c.req
	snap := c.e.o.Snapshot.Load()
	l := snap.Listeners[c.e.o.Addr]
	c.recL = l
	if l == nil {
		c.fail(lberr.ErrNoTargets, true)
		return false
	}
	mode := l.LB.DesyncMitigationMode
	c.classify()
	switch {
	case req.TEUnsupported:
		c.fail(lberr.ErrUnsupportedTE, true)
		return false
	// Severe requests are refused in every mode, monitor included: their
	// framing is unknowable or their bytes (NUL, a bare CR, a broken
	// request line) cannot be forwarded faithfully.
	case req.Class == h1.Severe, mode == "strictest" && req.Class != h1.Compliant:
		c.e.o.Log.Debug("request refused by desync mitigation", "client", c.client.String(),
			"classification", req.Class.String(), "reason", req.Reason.String(), "mode", mode)
		c.fail(lberr.ErrDesync, true)
		return false
	}
	if req.Class != h1.Compliant {
		c.e.o.Log.Debug("non-compliant request", "client", c.client.String(),
			"classification", req.Class.String(), "reason", req.Reason.String(), "mode", mode)
	}
	// Ambiguous requests are forwarded, then both connections closed, so
	// whatever a desynchronised peer saw cannot reach another request.
	closeAfter := !req.KeepAlive || (req.Class >= h1.Ambiguous && mode != "monitor") ||
		time.Since(c.start) > l.LB.ClientKeepAlive
	hasBody := req.Chunked || req.ContentLength > 0
	if f := c.check(); f != nil {
		closeConn := closeAfter || hasBody || f.Code == http.StatusBadRequest
		c.fail(f, closeConn)
		return !closeConn
	}
	if v := l.ClientVerifier; v != nil && c.verified != v {
		tc, ok := c.nc.(*tls.Conn)
		if !ok {
			c.fail(lberr.ErrClientCertificate, true)
			return false
		}
		cs := tc.ConnectionState()
		if err := v.Verify(&cs); err != nil {
			c.e.o.Log.Debug("client certificate refused under new mutual TLS settings", "client", c.client.String(), "err", err)
			c.fail(lberr.ErrClientCertificate, true)
			return false
		}
		c.verified = v
	}
	if l.ACMEChallenge != nil && string(req.Method) == "GET" && bytes.HasPrefix(req.Path, acmePath) {
		// ACME HTTP-01 validation comes before any rule, as the CA must
		// see the key authorization whatever the rules say.
		if body, ok := l.ACMEChallenge(str(req.Host), str(req.Path)); ok {
			c.respond(http.StatusOK, "text/plain", body, "", "", true)
			return false
		}
	}
	view := &c.view
	*view = router.Request{
		Method:   method(req.Method),
		Host:     str(req.Host),
		Path:     str(req.Path),
		RawQuery: str(req.Query),
		Header:   &c.hv,
		SourceIP: c.client.Addr().Unmap(),
	}
	a := l.Default
	i, _, evaluated, ok := l.Router.MatchCount(view)
	if ok {
		a = l.Actions[i]
	}
	c.rec.MatchedRulePriority, c.rec.RulesEvaluated = a.Priority, evaluated
	switch a.Kind {
	case snapshot.Redirect:
		loc := action.Location(l, a.Redirect, view.Host, view.Path, view.RawQuery)
		c.rec.ActionsExecuted = append(c.rec.ActionsExecuted, "redirect")
		c.rec.RedirectURL = loc
		c.respond(a.Redirect.Status, "text/html", nil, "Location", loc, closeAfter || hasBody)
	case snapshot.FixedResponse:
		c.rec.ActionsExecuted = append(c.rec.ActionsExecuted, "fixed-response")
		c.respond(a.Fixed.Status, a.Fixed.ContentType, a.Fixed.Body, "", "", closeAfter || hasBody)
	case snapshot.Forward:
		c.rec.ActionsExecuted = append(c.rec.ActionsExecuted, "forward")
		return c.forward(snap, l, a.Forward, closeAfter)
	}
	return !closeAfter && !hasBody
}

var acmePath = []byte("/.well-known/acme-challenge/")

// check applies ALB's method, Host and X-Forwarded-For limits; the parser
// already enforced the size limits.
func (c *conn) check() *lberr.Failure {
	switch string(c.req.Method) {
	case "TRACE", "CONNECT":
		// CONNECT would turn a pooled target connection into a tunnel.
		return lberr.ErrMethodNotAllowed
	}
	if len(c.req.Host) > 0 && !h1.ValidHost(c.req.Host) {
		return lberr.ErrMalformed
	}
	n := 0
	for i := range c.req.Headers {
		h := &c.req.Headers[i]
		if h1.EqualFold(h.Name, "X-Forwarded-For") {
			n += action.XFFCount([]string{str(h.Value)})
		}
	}
	if n > action.MaxXFF {
		return lberr.ErrTooManyXFF
	}
	return nil
}

// fail answers with the load balancer's own error page.
func (c *conn) fail(f *lberr.Failure, closeConn bool) {
	if c.rec.ErrorReason == "" {
		c.rec.ErrorReason = f.Reason
	}
	c.respond(f.Code, "text/html", action.ErrorPage(f), "", "", closeConn)
}

// failStatus answers a request the parser refused.
func (c *conn) failStatus(code int, msg string) {
	c.fail(&lberr.Failure{Code: code, Reason: "MalformedRequest", Msg: msg}, true)
}

// respond writes a response the load balancer makes itself; a HEAD
// request gets the head only.
func (c *conn) respond(code int, ctype string, body []byte, hname, hval string, closeConn bool) {
	c.rec.ELBStatus = code
	b := appendStatusLine(c.wbuf[:0], code)
	b = append(b, "Server: sluice\r\nContent-Type: "...)
	b = append(b, ctype...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n"...)
	if hname != "" {
		b = append(append(append(append(b, hname...), ": "...), hval...), "\r\n"...)
	}
	if closeConn {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	if string(c.req.Method) != "HEAD" {
		b = append(b, body...)
	}
	c.wbuf = b[:0]
	c.write(b)
}

func (c *conn) write(b []byte) error {
	_, err := c.Write(b)
	return err
}

// Write writes to the client within the idle timeout, counted from the
// last activity in either direction. It is also the destination of body
// copies.
func (c *conn) Write(b []byte) (int, error) {
	idle := c.e.o.IdleTimeout
	written := 0
	for {
		now := time.Now()
		if c.wArmed.Sub(now) < idle/2 {
			c.wArmed = now.Add(idle)
			c.nc.SetWriteDeadline(c.wArmed)
		}
		n, err := c.nc.Write(b[written:])
		written += n
		c.sent += int64(n)
		if n > 0 {
			c.in.last = time.Now()
		}
		if err != nil && isTimeout(err) {
			if d := c.in.last.Add(idle); time.Now().Before(d) {
				c.wArmed = d
				c.nc.SetWriteDeadline(d)
				continue
			}
		}
		return written, err
	}
}

func appendStatusLine(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	return append(append(b, statusText(code)...), "\r\n"...)
}

// headerView gives the router the request's headers without copying them.
type headerView struct {
	req     *h1.Request
	scratch []string
}

func (h *headerView) Values(name string) []string {
	h.scratch = h.scratch[:0]
	for i := range h.req.Headers {
		hd := &h.req.Headers[i]
		if h1.EqualFold(hd.Name, name) {
			h.scratch = append(h.scratch, str(hd.Value))
		}
	}
	return h.scratch
}

// Cookie returns the value of the request cookie name, or "".
func (c *conn) Cookie(name string) string {
	for i := range c.req.Headers {
		hd := &c.req.Headers[i]
		if !h1.EqualFold(hd.Name, "Cookie") {
			continue
		}
		v := hd.Value
		for len(v) > 0 {
			var part []byte
			if j := indexByte(v, ';'); j >= 0 {
				part, v = v[:j], v[j+1:]
			} else {
				part, v = v, nil
			}
			part = trimSpace(part)
			if len(part) > len(name) && part[len(name)] == '=' && string(part[:len(name)]) == name {
				return string(part[len(name)+1:])
			}
		}
	}
	return ""
}

// str views b as a string without copying. The result is valid only while
// the request is being served: the buffer is reused for the next one.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// method returns a constant string for common methods, so nothing keeps a
// view into the buffer by accident.
func method(b []byte) string {
	switch string(b) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	case "PATCH":
		return "PATCH"
	}
	return string(b)
}

func isTimeout(err error) bool { return lberr.IsTimeout(err) }

func isEOF(err error) bool { return err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) }

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-32] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}
