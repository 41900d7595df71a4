package proxy

import (
	"net"
	"net/http"
	"strings"

	"github.com/sluicelb/sluice/internal/snapshot"
)

// redirect answers with the Location that a's templates build from r.
func redirect(w http.ResponseWriter, r *http.Request, l *snapshot.Listener, a *snapshot.RedirectAction) {
	host := hostOnly(r.Host)
	path := r.URL.EscapedPath()
	rep := strings.NewReplacer(
		"#{protocol}", strings.ToUpper(l.Scheme()),
		"#{host}", host,
		"#{port}", l.PortStr,
		"#{path}", strings.TrimPrefix(path, "/"),
		"#{query}", r.URL.RawQuery,
	)
	scheme := strings.ToLower(rep.Replace(a.Protocol))
	h := rep.Replace(a.Host)
	port := rep.Replace(a.Port)
	p := rep.Replace(a.Path)
	q := rep.Replace(a.Query)
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if strings.IndexByte(h, ':') >= 0 && !strings.HasPrefix(h, "[") {
		h = "[" + h + "]" // IPv6 literal
	}
	b.WriteString(h)
	if !(scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		b.WriteByte(':')
		b.WriteString(port)
	}
	if !strings.HasPrefix(p, "/") {
		b.WriteByte('/')
	}
	b.WriteString(p)
	if q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	w.Header().Set("Location", b.String())
	w.Header().Set("Server", "sluice")
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(a.Status)
}

// hostOnly strips the port from a Host header value.
func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// hostHeader is the Host sent to the target. As on ALB, unless
// preserve_host_header is on, a Host without a port gets the listener's port
// when that port is not the protocol's default.
func hostHeader(in string, l *snapshot.Listener) string {
	if l.LB.PreserveHostHeader || in == "" {
		return in
	}
	if l.HTTPS && l.Port == 443 || !l.HTTPS && l.Port == 80 {
		return in
	}
	if _, _, err := net.SplitHostPort(in); err == nil {
		return in
	}
	if strings.IndexByte(in, ':') >= 0 && !strings.HasPrefix(in, "[") {
		return "[" + in + "]:" + l.PortStr
	}
	return in + ":" + l.PortStr
}
