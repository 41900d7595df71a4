package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicelb/sluice/internal/action"
	"github.com/sluicelb/sluice/internal/h1"
	"github.com/sluicelb/sluice/internal/lberr"
	"github.com/sluicelb/sluice/internal/snapshot"
	"github.com/sluicelb/sluice/internal/target"
	"github.com/sluicelb/sluice/internal/upstream"
)

// Headers never forwarded as received: hop-by-hop ones, framing (rebuilt),
// and the ones the load balancer sets itself.
func skipRequestHeader(name []byte) bool {
	switch len(name) {
	case 2:
		return h1.EqualFold(name, "TE")
	case 4:
		return h1.EqualFold(name, "Host")
	case 7:
		return h1.EqualFold(name, "Upgrade") || h1.EqualFold(name, "Trailer")
	case 9:
		return h1.EqualFold(name, "Forwarded")
	case 10:
		return h1.EqualFold(name, "Connection") || h1.EqualFold(name, "Keep-Alive")
	case 14:
		return h1.EqualFold(name, "Content-Length")
	case 15:
		return h1.EqualFold(name, "X-Forwarded-For") || h1.EqualFold(name, "X-Amzn-Trace-Id")
	case 16:
		return h1.EqualFold(name, "X-Forwarded-Port") || h1.EqualFold(name, "X-Forwarded-Host") ||
			h1.EqualFold(name, "Proxy-Connection")
	case 17:
		return h1.EqualFold(name, "Transfer-Encoding") || h1.EqualFold(name, "X-Forwarded-Proto")
	}
	return false
}

func skipResponseHeader(name []byte) bool {
	switch len(name) {
	case 2:
		return h1.EqualFold(name, "TE")
	case 7:
		return h1.EqualFold(name, "Upgrade") || h1.EqualFold(name, "Trailer")
	case 10:
		return h1.EqualFold(name, "Connection") || h1.EqualFold(name, "Keep-Alive")
	case 14:
		return h1.EqualFold(name, "Content-Length")
	case 16:
		return h1.EqualFold(name, "Proxy-Connection")
	case 17:
		return h1.EqualFold(name, "Transfer-Encoding")
	}
	return false
}

// connectionListed reports whether name is one of the tokens of the
// message's Connection headers (those headers are hop-by-hop too).
func connectionListed(hs []h1.Header, name []byte) bool {
	for i := range hs {
		if !h1.EqualFold(hs[i].Name, "Connection") {
			continue
		}
		v := hs[i].Value
		for len(v) > 0 {
			var tok []byte
			if j := indexByte(v, ','); j >= 0 {
				tok, v = v[:j], v[j+1:]
			} else {
				tok, v = v, nil
			}
			tok = trimSpace(tok)
			if len(tok) == len(name) && h1.EqualFold(name, str(tok)) {
				return true
			}
		}
	}
	return false
}

func hasConnectionTokens(hs []h1.Header) bool {
	for i := range hs {
		if h1.EqualFold(hs[i].Name, "Connection") {
			return true
		}
	}
	return false
}

// forward sends the request to a target and relays the response. It
// reports whether the client connection may serve another request.
func (c *conn) forward(snap *snapshot.Snapshot, l *snapshot.Listener, fa *snapshot.ForwardAction, closeAfter bool) bool {
	req := &c.req
	now := c.e.o.Clock.Now()
	ch := action.Choose(snap, l, fa, c, now)
	hasBody := req.Chunked || req.ContentLength > 0
	if f := action.CheckProtocolVersion(ch.Route.Group.ProtocolVersion, 1, ""); f != nil {
		c.fail(f, closeAfter || hasBody)
		return !closeAfter && !hasBody
	}
	t := ch.Target
	c.rec.TargetGroup, c.rec.NonSticky = ch.Route.Group.Name, ch.NonSticky
	if t == nil {
		c.fail(lberr.ErrNoTargets, closeAfter || hasBody)
		return !closeAfter && !hasBody
	}
	trace := ""
	for i := range req.Headers {
		if h1.EqualFold(req.Headers[i].Name, "X-Amzn-Trace-Id") {
			trace = str(req.Headers[i].Value)
			break
		}
	}
	retriedConnect, retriedStale := false, false
	for {
		pool := ch.Route.Pools[t]
		uc, reused, err := pool.GetConn(context.Background(), c.id)
		if err != nil {
			f := lberr.Classify(err)
			c.e.o.Observer.TargetConnError(l.LB.Name, ch.Route.Group.Name, t.Addr, f == lberr.ErrTargetTLS)
			if lberr.IsConnectFailure(err) {
				retry := !retriedConnect && action.Retryable(method(req.Method), hasBody)
				if next := action.ConnectFailed(ch.Route, t, err, c.e.o.Clock.Now(), c.e.o.Log, retry); next != nil {
					c.rec.TargetList = append(c.rec.TargetList, t.Addr)
					c.rec.TargetStatusList = append(c.rec.TargetStatusList, "-")
					retriedConnect, t = true, next
					continue
				}
			}
			c.rec.Target = t.Addr
			c.fail(lberr.Classify(err), closeAfter || hasBody)
			return !closeAfter && !hasBody
		}
		t.Begin()
		keep, retry := c.exchange(snap, l, &ch, t, pool, uc, trace, closeAfter,
			reused && !retriedStale && action.Retryable(method(req.Method), hasBody))
		t.End()
		if retry {
			// A kept-alive connection the target had closed: send the
			// request once more on a new one.
			retriedStale = true
			continue
		}
		return keep
	}
}

// exchange writes the request on uc and relays the response. retry is true
// when uc turned out to be closed by the target before anything was
// received and the request can be sent again (no body went out).
func (c *conn) exchange(snap *snapshot.Snapshot, l *snapshot.Listener, ch *action.Choice, t *target.Target,
	pool *upstream.Pool, uc *upstream.Conn, trace string, closeAfter, mayRetry bool) (keep, retry bool) {
	req := &c.req
	hasBody := req.Chunked || req.ContentLength > 0
	c.rec.Target = t.Addr
	b := c.appendRequestHead(c.wbuf[:0], l, trace)
	// A body already read with the head goes out in the same write.
	bodySent := !hasBody
	if !req.Chunked && req.ContentLength > 0 && int64(len(c.in.buffered())) >= req.ContentLength && !req.Expect100 {
		b = append(b, c.in.buffered()[:req.ContentLength]...)
		bodySent = true
	}
	c.wbuf = b[:0]
	c.dispatched = time.Now()
	if _, err := uc.Write(b); err != nil {
		uc.Close()
		if mayRetry && !hasBody {
			return false, true
		}
		c.fail(lberr.Classify(err), true)
		return false, false
	}
	if bodySent && !req.Chunked && req.ContentLength > 0 {
		c.in.r += int(req.ContentLength)
	}
	us := src{c: uc, buf: uc.Buf, r: uc.R, w: uc.W}
	var scratch *[]byte
	defer func() {
		if scratch != nil {
			scratchPool.Put(scratch)
		}
	}()
	sendBody := func() error {
		if bodySent {
			return nil
		}
		bodySent = true
		scratch = scratchPool.Get().(*[]byte)
		var err error
		if req.Chunked {
			_, err = copyChunked(uc, &c.in, true, *scratch)
		} else {
			_, err = copyN(uc, &c.in, req.ContentLength, *scratch)
		}
		return err
	}
	if !req.Expect100 {
		if err := sendBody(); err != nil {
			uc.Close()
			c.bodyFailed(err)
			return false, false
		}
	}
	resp := &c.resp
	for {
		err := c.readResponseHead(&us, resp)
		if err != nil {
			uc.Close()
			if mayRetry && !hasBody && us.w == 0 && (isEOF(err) || isReset(err)) {
				return false, true
			}
			f := lberr.Classify(err)
			if errors.Is(err, errBadResponse) || errors.Is(err, errHeadTooLarge) {
				f = lberr.ErrTargetResponse
			}
			c.e.o.Log.Debug("forwarding failed", "target", t.Addr, "status", f.Code, "reason", f.Reason, "err", err)
			c.fail(f, true)
			return false, false
		}
		if resp.Status >= 200 || resp.Status == http.StatusSwitchingProtocols {
			c.respHead = time.Now()
			c.rec.TargetStatus = resp.Status
			break
		}
		// An interim response: 100 Continue releases a held body.
		if resp.Status == http.StatusContinue && req.Expect100 && !bodySent {
			c.write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
			if err := sendBody(); err != nil {
				uc.Close()
				c.bodyFailed(err)
				return false, false
			}
		}
	}
	if !bodySent {
		// The target answered without asking for the body: it will not
		// read it, and the client's remaining bytes are unread.
		closeAfter = true
		resp.KeepAlive = false
	}
	return c.relay(snap, l, ch, t, pool, uc, &us, resp, closeAfter), false
}

var errBadResponse = errors.New("malformed response from target")

func (c *conn) readResponseHead(us *src, resp *h1.Response) error {
	for {
		n, err := h1.ParseResponse(us.buffered(), resp, 32<<10)
		if err == nil {
			us.r += n
			return nil
		}
		if !errors.Is(err, h1.ErrIncomplete) {
			return errors.Join(errBadResponse, err)
		}
		if err := us.fill(32<<10 + 2); err != nil {
			return err
		}
	}
}

// bodyFailed answers after the request body could not be passed on.
func (c *conn) bodyFailed(err error) {
	var we errWrite
	if errors.As(err, &we) {
		c.fail(lberr.Classify(we.err), true) // the target went away
		return
	}
	if errors.Is(err, errBadChunk) {
		c.fail(lberr.ErrMalformed, true)
		return
	}
	// The client went away or stalled mid-body: nobody to answer.
}

// relay writes the response head and streams the body to the client.
func (c *conn) relay(snap *snapshot.Snapshot, l *snapshot.Listener, ch *action.Choice, t *target.Target,
	pool *upstream.Pool, uc *upstream.Conn, us *src, resp *h1.Response, closeAfter bool) bool {
	req := &c.req
	kind, n := resp.BodyKind(req.Method)
	upgrade := resp.Status == http.StatusSwitchingProtocols && req.Upgrade
	if resp.Status == http.StatusSwitchingProtocols && !req.Upgrade {
		uc.Close()
		c.fail(lberr.ErrTargetResponse, true)
		return false
	}
	clientOld := req.Minor == 0
	dechunk := kind == h1.BodyChunked && clientOld
	if kind == h1.BodyUntilClose || dechunk {
		closeAfter = true
	}
	b := c.wbuf[:0]
	c.rec.ELBStatus = resp.Status
	c.upgraded = upgrade
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(resp.Status), 10)
	b = append(b, ' ')
	if len(resp.Reason) > 0 {
		b = append(b, resp.Reason...)
	} else {
		b = append(b, statusText(resp.Status)...)
	}
	b = append(b, "\r\n"...)
	listed := hasConnectionTokens(resp.Headers)
	var setCookies []string
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if skipResponseHeader(h.Name) || listed && connectionListed(resp.Headers, h.Name) {
			if !(upgrade && h1.EqualFold(h.Name, "Upgrade")) {
				continue
			}
		}
		if ch.Route.Group.Stickiness == "app_cookie" && h1.EqualFold(h.Name, "Set-Cookie") {
			setCookies = append(setCookies, string(h.Value))
		}
		b = appendHeader(b, h.Name, h.Value)
	}
	for _, ck := range action.ResponseCookies(snap, l, ch, t, setCookies, c.e.o.Clock.Now()) {
		b = append(append(append(b, "Set-Cookie: "...), ck...), "\r\n"...)
	}
	switch {
	case upgrade:
		b = append(b, "Connection: Upgrade\r\n"...)
	case kind == h1.BodyLength:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, n, 10)
		b = append(b, "\r\n"...)
	case kind == h1.BodyChunked && !dechunk:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case kind == h1.BodyNone && resp.ContentLength >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, resp.ContentLength, 10)
		b = append(b, "\r\n"...)
	}
	if !upgrade {
		if closeAfter {
			b = append(b, "Connection: close\r\n"...)
		} else if clientOld {
			b = append(b, "Connection: keep-alive\r\n"...)
		}
	}
	b = append(b, "\r\n"...)
	// A body already read with the head goes out in the same write.
	bodyDone := kind == h1.BodyNone
	if kind == h1.BodyLength && int64(len(us.buffered())) >= n {
		b = append(b, us.buffered()[:n]...)
		us.r += int(n)
		bodyDone = true
	}
	c.wbuf = b[:0]
	if err := c.write(b); err != nil {
		uc.Close()
		return false
	}
	if upgrade {
		c.tunnel(uc, us)
		return false
	}
	if !bodyDone {
		scratch := scratchPool.Get().(*[]byte)
		var err error
		switch kind {
		case h1.BodyLength:
			_, err = copyN(c, us, n, *scratch)
		case h1.BodyChunked:
			_, err = copyChunked(c, us, !dechunk, *scratch)
		case h1.BodyUntilClose:
			_, err = copyUntilEOF(c, us, *scratch)
			resp.KeepAlive = false
		}
		scratchPool.Put(scratch)
		if err != nil {
			// Mid-body failure: the status is out, so the only signal left
			// is closing the connection.
			uc.Close()
			return false
		}
	}
	if resp.KeepAlive && !closeAfter {
		uc.R, uc.W, uc.Buf = us.r, us.w, us.buf
		pool.PutConn(uc)
	} else {
		uc.Close()
	}
	return !closeAfter
}

// tunnel copies bytes both ways after a protocol upgrade until either side
// closes. The target connection's idle timeout bounds silence.
func (c *conn) tunnel(uc *upstream.Conn, us *src) {
	c.nc.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		scratch := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(scratch)
		c.in.idle = 0
		copyUntilEOF(uc, &c.in, *scratch)
		if cw, ok := uc.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			uc.Close()
		}
	}()
	scratch := scratchPool.Get().(*[]byte)
	copyUntilEOF(rawWriter{c}, us, *scratch)
	scratchPool.Put(scratch)
	uc.Close()
	c.nc.Close()
	<-done
}

// rawWriter writes to the client in a tunnel: each write must finish within
// the idle timeout.
type rawWriter struct{ c *conn }

func (w rawWriter) Write(b []byte) (int, error) {
	// A client that stops reading must not pin the tunnel forever.
	w.c.nc.SetWriteDeadline(time.Now().Add(w.c.e.o.IdleTimeout))
	n, err := w.c.nc.Write(b)
	w.c.sent += int64(n)
	return n, err
}

// tlsHeaders returns the headers the listener adds for the connection's
// TLS session, built once per connection and settings.
func (c *conn) tlsHeaders(l *snapshot.Listener) []byte {
	tc, ok := c.nc.(*tls.Conn)
	if !ok || l.TLSHeaders == (snapshot.TLSHeaders{}) {
		return nil
	}
	if c.tlsHdr == nil || c.tlsHdrFor != l.TLSHeaders {
		cs := tc.ConnectionState()
		b := []byte{}
		for _, h := range action.TLSHeaders(&cs, action.TLSHeaderOptions(l.TLSHeaders)) {
			b = append(append(append(append(b, h.Name...), ": "...), h.Value...), "\r\n"...)
		}
		c.tlsHdr, c.tlsHdrFor = b, l.TLSHeaders
	}
	return c.tlsHdr
}

// appendRequestHead builds the head sent to the target.
func (c *conn) appendRequestHead(b []byte, l *snapshot.Listener, trace string) []byte {
	req := &c.req
	b = append(b, req.Method...)
	b = append(b, ' ')
	if len(req.Target) > 0 && req.Target[0] != '/' && len(req.Path) > 0 {
		// absolute-form: targets get origin-form
		b = appendTarget(b, req.Path)
		if len(req.Query) > 0 {
			b = appendTarget(append(b, '?'), req.Query)
		}
	} else {
		b = appendTarget(b, req.Target)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = action.AppendHostHeader(b, str(req.Host), l)
	b = append(b, "\r\n"...)
	listed := hasConnectionTokens(req.Headers)
	xff := c.xff[:0]
	drop := l.LB.DropInvalidHeaderFields
	for i := range req.Headers {
		h := &req.Headers[i]
		if h1.EqualFold(h.Name, "X-Forwarded-For") {
			xff = append(xff, str(h.Value))
			continue
		}
		if skipRequestHeader(h.Name) || listed && connectionListed(req.Headers, h.Name) || !h1.ForwardableName(h.Name) {
			continue
		}
		if drop && !action.ValidHeaderName(str(h.Name)) || action.IsLBTLSHeader(h.Name) {
			continue
		}
		b = appendHeader(b, h.Name, h.Value)
	}
	b = append(b, c.tlsHeaders(l)...)
	c.xff = xff[:0]
	if v, ok := action.XFF(l.LB, xff, c.clientIP, c.clientIPPort); ok {
		b = append(append(append(b, "X-Forwarded-For: "...), v...), "\r\n"...)
	}
	b = append(b, "X-Forwarded-Proto: "...)
	b = append(b, l.Scheme()...)
	b = append(b, "\r\nX-Forwarded-Port: "...)
	b = append(b, l.PortStr...)
	b = append(b, "\r\nX-Amzn-Trace-Id: "...)
	start := len(b)
	b = action.AppendTraceID(b, trace, c.e.o.Clock.Now())
	if c.e.o.Observer.Logging(l.LB.Name) {
		// The head buffer is reused for the response: keep a copy.
		c.traceBuf = append(c.traceBuf[:0], b[start:]...)
		c.rec.TraceID = str(c.traceBuf)
	}
	b = append(b, "\r\n"...)
	switch {
	case req.Chunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case req.ContentLength >= 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, req.ContentLength, 10)
		b = append(b, "\r\n"...)
	}
	if req.Upgrade {
		for i := range req.Headers {
			if h1.EqualFold(req.Headers[i].Name, "Upgrade") {
				b = appendHeader(b, req.Headers[i].Name, req.Headers[i].Value)
			}
		}
		b = append(b, "Connection: Upgrade\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendHeader writes "name: value". A value folded over several lines
// (obs-fold) is joined with single spaces so the target sees one line.
func appendHeader(b, name, value []byte) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	if bytes.IndexAny(value, "\r\n") < 0 {
		b = append(b, value...)
		return append(b, "\r\n"...)
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c != '\r' && c != '\n' {
			b = append(b, c)
			continue
		}
		for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
			b = b[:len(b)-1]
		}
		for i+1 < len(value) && (value[i+1] == '\r' || value[i+1] == '\n' || value[i+1] == ' ' || value[i+1] == '\t') {
			i++
		}
		b = append(b, ' ')
	}
	return append(b, "\r\n"...)
}

func statusText(code int) string {
	switch code {
	case 460:
		return "Client Closed Request"
	case 463:
		return "Too Many Forwarded Addresses"
	case 464:
		return "Incompatible Protocol Version"
	}
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(code)
}

// appendTarget writes a request-target with spaces and control bytes (which
// the parser accepts as SpaceInUri or AmbiguousUri) percent-encoded, so the
// target cannot read the request line differently.
func appendTarget(b, t []byte) []byte {
	for _, ch := range t {
		if ch <= ' ' || ch == 0x7f {
			b = append(b, '%', hexUpper[ch>>4], hexUpper[ch&0xf])
			continue
		}
		b = append(b, ch)
	}
	return b
}

const hexUpper = "0123456789ABCDEF"
