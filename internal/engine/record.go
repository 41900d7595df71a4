package engine

import (
	"crypto/tls"
	"time"

	"github.com/sluicelb/sluice/internal/accesslog"
	"github.com/sluicelb/sluice/internal/action"
	"github.com/sluicelb/sluice/internal/h1"
	"github.com/sluicelb/sluice/internal/lberr"
)

// begin starts the entry of the request about to be read. The entry's
// slices keep their arrays: emit hands the entry over synchronously.
func (c *conn) begin() {
	r := &c.rec
	*r = accesslog.Entry{
		ActionsExecuted:     r.ActionsExecuted[:0],
		TargetList:          r.TargetList[:0],
		TargetStatusList:    r.TargetStatusList[:0],
		MatchedRulePriority: -1,
	}
	c.reqStart = time.Now()
	c.dispatched, c.respHead = time.Time{}, time.Time{}
	c.recvMark, c.sentMark = c.in.consumed(), c.sent
	c.upgraded = false
	c.recL = nil
}

// classify records the request's desync classification when it is not
// compliant.
func (c *conn) classify() {
	if c.req.Class != h1.Compliant {
		c.rec.Classification, c.rec.ClassificationReason = c.req.Class.String(), c.req.Reason.String()
	}
}

// emit reports the request just served, if the load balancer answered it
// at all (a client that went away before a response is not a request).
// It runs before the connection's buffers are reused: the entry's text
// fields point into them.
func (c *conn) emit() {
	e := &c.rec
	obs := c.e.o.Observer
	if e.ELBStatus == 0 || obs == nil {
		return
	}
	l := c.recL
	if l == nil {
		snap := c.e.o.Snapshot.Load()
		if snap == nil {
			return
		}
		if l = snap.Listeners[c.e.o.Addr]; l == nil {
			return
		}
	}
	end := time.Now()
	e.LoadBalancer, e.Listener = l.LB.Name, l.ID
	e.Time, e.RequestCreationTime = end, c.reqStart
	e.RequestProcessingTime, e.TargetProcessingTime, e.ResponseProcessingTime = -1, -1, -1
	// As on ALB, a target that closed the connection (or could not be
	// reached) before answering leaves all three times at -1; one that
	// timed out had the request, so its request processing time counts.
	if !c.dispatched.IsZero() && (!c.respHead.IsZero() || e.ErrorReason == lberr.ErrTargetTimeout.Reason) {
		e.RequestProcessingTime = c.dispatched.Sub(c.reqStart)
		if !c.respHead.IsZero() {
			e.TargetProcessingTime = c.respHead.Sub(c.dispatched)
			e.ResponseProcessingTime = end.Sub(c.respHead)
		}
	}
	e.ReceivedBytes = c.in.consumed() - c.recvMark
	e.SentBytes = c.sent - c.sentMark
	e.Client = c.client
	switch {
	case c.https && c.upgraded:
		e.Type = "wss"
	case c.upgraded:
		e.Type = "ws"
	case c.https:
		e.Type = "https"
	default:
		e.Type = "http"
	}
	if len(e.TargetList) > 0 {
		e.TargetList = append(e.TargetList, e.Target)
		st := "-"
		if e.TargetStatus != 0 {
			st = statusString(e.TargetStatus)
		}
		e.TargetStatusList = append(e.TargetStatusList, st)
	}
	if obs.Logging(l.LB.Name) {
		c.logFields(l.Scheme(), l.PortStr)
	}
	obs.Request(e)
}

// logFields fills the text fields only the access log reads.
func (c *conn) logFields(scheme, port string) {
	e, req := &c.rec, &c.req
	e.Method = str(req.Method)
	if req.Major > 0 {
		e.Proto = "HTTP/1.0"
		if req.Minor == 1 {
			e.Proto = "HTTP/1.1"
		}
	}
	if len(req.Method) > 0 {
		b := append(c.urlBuf[:0], scheme...)
		b = append(b, "://"...)
		b = append(b, req.Host...)
		if !hasPort(req.Host) {
			b = append(append(b, ':'), port...)
		}
		b = append(b, req.Path...)
		if len(req.Query) > 0 {
			b = append(append(b, '?'), req.Query...)
		}
		c.urlBuf = b
		e.URL = str(b)
	}
	for i := range req.Headers {
		h := &req.Headers[i]
		if e.UserAgent == "" && h1.EqualFold(h.Name, "User-Agent") {
			e.UserAgent = str(h.Value)
		}
	}
	if tc, ok := c.nc.(*tls.Conn); ok {
		if c.tlsVersion == "" {
			cs := tc.ConnectionState()
			c.tlsVersion, c.tlsCipher, c.sni = action.TLSVersionName(cs.Version), action.CipherSuiteName(cs.CipherSuite), cs.ServerName
		}
		e.SSLProtocol, e.SSLCipher, e.DomainName = c.tlsVersion, c.tlsCipher, c.sni
	}
}

// hasPort reports whether a Host value ends in a port.
func hasPort(host []byte) bool {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return true
		case ']':
			return false
		}
		if host[i] < '0' || host[i] > '9' {
			return false
		}
	}
	return false
}

func statusString(code int) string {
	if code >= 100 && code < 600 {
		return statusStrings[code-100]
	}
	return "-"
}

var statusStrings = func() (s [500]string) {
	for i := range s {
		n := i + 100
		s[i] = string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
	}
	return
}()
