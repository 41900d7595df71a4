package proxy

import (
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/sluicelb/sluice/internal/accesslog"
	"github.com/sluicelb/sluice/internal/action"
	"github.com/sluicelb/sluice/internal/lberr"
	"github.com/sluicelb/sluice/internal/snapshot"
)

// recorder notes the status and body bytes of the response written to the
// client. It unwraps for http.ResponseController (flushes, hijacks).
type recorder struct {
	http.ResponseWriter
	status int
	sent   int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 || r.status < 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.sent += int64(n)
	return n, err
}

func (r *recorder) Flush() { http.NewResponseController(r.ResponseWriter).Flush() }

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// countingBody counts the request body bytes read.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

// record is the entry of one request on the net/http path and the times
// it is built from.
type record struct {
	accesslog.Entry
	start, dispatched, respHead time.Time
	body                        *countingBody
}

func newRecord(r *http.Request) *record {
	rec := &record{start: time.Now()}
	rec.MatchedRulePriority = -1
	if r.Body != nil && r.Body != http.NoBody {
		rec.body = &countingBody{ReadCloser: r.Body}
		r.Body = rec.body
	}
	return rec
}

// fail notes a failure the load balancer answers.
func (rec *record) fail(f *lberr.Failure) {
	if rec.ErrorReason == "" {
		rec.ErrorReason = f.Reason
	}
}

// emit reports the finished request to the observer.
func (p *Proxy) emit(w *recorder, r *http.Request, l *snapshot.Listener, rec *record) {
	obs := p.observer
	if obs == nil {
		return
	}
	e := &rec.Entry
	e.ELBStatus = w.status
	if e.ELBStatus == 0 && e.TargetStatus == http.StatusSwitchingProtocols {
		e.ELBStatus = e.TargetStatus // the reverse proxy wrote it on the hijacked connection
	}
	if e.ELBStatus == 0 {
		return // the client went away before any answer
	}
	end := time.Now()
	e.LoadBalancer, e.Listener = l.LB.Name, l.ID
	e.Time, e.RequestCreationTime = end, rec.start
	e.RequestProcessingTime, e.TargetProcessingTime, e.ResponseProcessingTime = -1, -1, -1
	// As on ALB, a target that closed the connection (or could not be
	// reached) before answering leaves all three times at -1; one that
	// timed out had the request, so its request processing time counts.
	if !rec.dispatched.IsZero() && (!rec.respHead.IsZero() || e.ErrorReason == lberr.ErrTargetTimeout.Reason) {
		e.RequestProcessingTime = rec.dispatched.Sub(rec.start)
		if !rec.respHead.IsZero() {
			e.TargetProcessingTime = rec.respHead.Sub(rec.dispatched)
			e.ResponseProcessingTime = end.Sub(rec.respHead)
		}
	}
	if rec.body != nil {
		e.ReceivedBytes = rec.body.n
	}
	e.SentBytes = w.sent
	e.Client, _ = netip.ParseAddrPort(r.RemoteAddr)
	grpc := strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
	switch {
	case e.ELBStatus == http.StatusSwitchingProtocols && r.TLS != nil:
		e.Type = "wss"
	case e.ELBStatus == http.StatusSwitchingProtocols:
		e.Type = "ws"
	case r.ProtoMajor == 2 && grpc:
		e.Type = "grpcs"
	case r.ProtoMajor == 2:
		e.Type = "h2"
	case r.TLS != nil:
		e.Type = "https"
	default:
		e.Type = "http"
	}
	if obs.Logging(l.LB.Name) {
		e.Method, e.Proto, e.UserAgent = r.Method, r.Proto, r.UserAgent()
		e.URL = l.Scheme() + "://" + hostPort(r.Host, l.PortStr) + r.URL.RequestURI()
		if r.TLS != nil {
			e.SSLProtocol = action.TLSVersionName(r.TLS.Version)
			e.SSLCipher = action.CipherSuiteName(r.TLS.CipherSuite)
			e.DomainName = r.TLS.ServerName
		}
	}
	obs.Request(e)
}

// hostPort adds the listener's port to a Host without one.
func hostPort(host, port string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host
	}
	return host + ":" + port
}
