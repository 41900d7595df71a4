package proxy

import (
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelb/sluice/internal/balancer"
	"github.com/sluicelb/sluice/internal/snapshot"
	"github.com/sluicelb/sluice/internal/target"
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
	out.Host = hostHeader(pr.In.Host, l)
	switch l.LB.XFF {
	case "append":
		addr := fw.client.Addr().Unmap().String()
		if l.LB.XFFClientPort {
			if fw.client.Addr().Unmap().Is6() {
				addr = "[" + addr + "]"
			}
			addr += ":" + strconv.Itoa(int(fw.client.Port()))
		}
		if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
			addr = strings.Join(prior, ", ") + ", " + addr
		}
		out.Header["X-Forwarded-For"] = []string{addr}
	case "preserve":
		if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
			out.Header["X-Forwarded-For"] = prior
		}
	}
	out.Header["X-Forwarded-Proto"] = []string{l.Scheme()}
	out.Header["X-Forwarded-Port"] = []string{l.PortStr}
	out.Header["X-Amzn-Trace-Id"] = []string{fw.trace}
	if l.LB.DropInvalidHeaderFields {
		for k := range out.Header {
			if !validHeaderName(k) {
				delete(out.Header, k)
			}
		}
	}
}

// modifyResponse adds the stickiness cookies to the target's response.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	fw := resp.Request.Context().Value(ctxKey{}).(*forward)
	for _, c := range fw.cookies {
		resp.Header.Add("Set-Cookie", c.String())
	}
	tg := fw.route.Group
	if fw.stickTarget {
		// Sealed here, not when the target was picked, so that after a
		// retry the cookie names the target that answered.
		exp := p.clock.Now().Add(tg.StickinessDuration)
		for _, c := range balancer.LBCookies(fw.s.Keyring.SealTarget(fw.target.Key, exp), exp, fw.l.HTTPS) {
			resp.Header.Add("Set-Cookie", c.String())
		}
	}
	if tg.Stickiness == "app_cookie" && setsCookie(resp.Header, tg.AppCookieName) {
		exp := p.clock.Now().Add(tg.StickinessDuration)
		v := fw.s.Keyring.SealTarget(fw.target.Key, exp)
		resp.Header.Add("Set-Cookie", balancer.AppCookie(v, exp).String())
	}
	return nil
}

func setsCookie(h http.Header, name string) bool {
	for _, sc := range h["Set-Cookie"] {
		if strings.HasPrefix(sc, name) && len(sc) > len(name) && sc[len(name)] == '=' {
			return true
		}
	}
	return false
}

// pickRoute chooses the target group of a weighted forward, honouring and
// refreshing group stickiness.
func (p *Proxy) pickRoute(r *http.Request, fw *forward, fa *snapshot.ForwardAction, now time.Time) *snapshot.Route {
	if fa.GroupStickiness <= 0 {
		return fa.PickRoute(randUint64())
	}
	var route *snapshot.Route
	if v := balancer.RequestCookie(r, balancer.CookieTG, balancer.CookieTGCORS); v != "" {
		if name, ok := fw.s.Keyring.OpenGroup(v, now); ok {
			route = fa.RouteFor(name)
		}
	}
	if route == nil {
		route = fa.PickRoute(randUint64())
	}
	exp := now.Add(fa.GroupStickiness)
	fw.cookies = append(fw.cookies, balancer.TGCookies(fw.s.Keyring.SealGroup(route.Group.Name, exp), exp, fw.l.HTTPS)...)
	return route
}

// pickTarget chooses a target of tg, honouring target stickiness: a cookie
// naming a target that is gone or not eligible is ignored, and the response
// carries a new one.
func (p *Proxy) pickTarget(r *http.Request, fw *forward, tg *snapshot.TargetGroup, now time.Time) *target.Target {
	var t *target.Target
	v := ""
	switch tg.Stickiness {
	case "lb_cookie":
		v = balancer.RequestCookie(r, balancer.CookieLB, balancer.CookieLBCORS)
	case "app_cookie":
		v = balancer.RequestCookie(r, balancer.CookieApp, "")
	}
	if v != "" {
		if k, ok := fw.s.Keyring.OpenTarget(v, now); ok && k.Group == tg.Name {
			t, _ = tg.Group.Sticky(k)
		}
	}
	if t == nil {
		t, _ = tg.Group.Pick(nil)
	}
	fw.stickTarget = t != nil && tg.Stickiness == "lb_cookie"
	return t
}

const hexDigits = "0123456789abcdef"

// traceID returns the X-Amzn-Trace-Id to send: a new Root, or, when the
// client sent a Root, that header with this hop's Self field in front.
func traceID(in string, now time.Time) string {
	var b [35]byte // 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy
	b[0], b[1], b[10] = '1', '-', '-'
	sec := uint32(now.Unix())
	for i := 0; i < 8; i++ {
		b[2+i] = hexDigits[(sec>>(28-4*i))&0xf]
	}
	r1, r2 := randUint64(), randUint64()
	for i := 0; i < 16; i++ {
		b[11+i] = hexDigits[(r1>>(60-4*i))&0xf]
	}
	for i := 0; i < 8; i++ {
		b[27+i] = hexDigits[(r2>>(60-4*i))&0xf]
	}
	id := string(b[:])
	if in == "" || len(in) > 256 || !strings.Contains(in, "Root=") {
		return "Root=" + id
	}
	var keep []string
	for _, f := range strings.Split(in, ";") {
		if f = strings.TrimSpace(f); f != "" && !strings.HasPrefix(f, "Self=") {
			keep = append(keep, f)
		}
	}
	return "Self=" + id + ";" + strings.Join(keep, ";")
}
