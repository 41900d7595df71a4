package proxy

import (
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/sluicelb/sluice/internal/action"
	"github.com/sluicelb/sluice/internal/snapshot"
)

// rewrite turns the client's request into the target's: address, Host,
// X-Forwarded-* and the trace id. httputil.ReverseProxy has already removed
// hop-by-hop headers and the incoming X-Forwarded-For/-Host/-Proto.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	fw := pr.In.Context().Value(ctxKey{}).(*forward)
	out := pr.Out
	l := fw.l
	out.URL.Scheme = fw.pool.Scheme()
	out.URL.Host = fw.target.Addr
	out.Host = action.HostHeader(pr.In.Host, l)
	ip, ipPort := action.ClientAddr(fw.client)
	if v, ok := action.XFF(l.LB, pr.In.Header["X-Forwarded-For"], ip, ipPort); ok {
		out.Header["X-Forwarded-For"] = []string{v}
	}
	out.Header["X-Forwarded-Proto"] = []string{l.Scheme()}
	out.Header["X-Forwarded-Port"] = []string{l.PortStr}
	out.Header["X-Amzn-Trace-Id"] = []string{fw.trace}
	for k := range out.Header {
		if action.IsLBTLSHeader([]byte(k)) || l.LB.DropInvalidHeaderFields && !action.ValidHeaderName(k) {
			delete(out.Header, k)
		}
	}
	if pr.In.TLS != nil && l.TLSHeaders != (snapshot.TLSHeaders{}) {
		for _, h := range action.TLSHeaders(pr.In.TLS, action.TLSHeaderOptions(l.TLSHeaders)) {
			out.Header[h.Name] = []string{h.Value}
		}
	}
}

// modifyResponse adds the stickiness cookies to the target's response.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	fw := resp.Request.Context().Value(ctxKey{}).(*forward)
	fw.rec.respHead = time.Now()
	fw.rec.TargetStatus = resp.StatusCode
	for _, c := range action.ResponseCookies(fw.s, fw.l, &fw.choice, fw.target, resp.Header["Set-Cookie"], p.clock.Now()) {
		resp.Header.Add("Set-Cookie", c)
	}
	return nil
}
