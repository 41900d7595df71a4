// Package action holds the engine-agnostic half of the request path: what
// an action does once the router picked it. It builds redirect Locations and
// error pages, chooses the target group and target of a forward (weights,
// group and target stickiness), and computes the headers added to forwarded
// requests (Host, X-Forwarded-*, the trace id). Every HTTP engine calls these
// same functions, so routing, balancing and headers behave identically
// whichever engine serves a connection.
package action

import (
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelb/sluice/internal/balancer"
	"github.com/sluicelb/sluice/internal/lberr"
	"github.com/sluicelb/sluice/internal/snapshot"
	"github.com/sluicelb/sluice/internal/target"
)

// MaxXFF is the most addresses X-Forwarded-For may hold (ALB answers 463
// beyond it).
const MaxXFF = 30

// Location builds a redirect's Location from a's templates and the request's
// host, escaped path and raw query.
func Location(l *snapshot.Listener, a *snapshot.RedirectAction, host, path, query string) string {
	rep := strings.NewReplacer(
		"#{protocol}", strings.ToUpper(l.Scheme()),
		"#{host}", HostOnly(host),
		"#{port}", l.PortStr,
		"#{path}", strings.TrimPrefix(path, "/"),
		"#{query}", query,
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
	return b.String()
}

// HostOnly strips the port from a Host header value.
func HostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
}

// HostHeader is the Host sent to the target. As on ALB, unless
// preserve_host_header is on, a Host without a port gets the listener's port
// when that port is not the protocol's default.
func HostHeader(in string, l *snapshot.Listener) string {
	if !needsPort(in, l) {
		return in
	}
	return string(AppendHostHeader(nil, in, l))
}

// AppendHostHeader appends HostHeader(in, l) to dst without allocating.
func AppendHostHeader(dst []byte, in string, l *snapshot.Listener) []byte {
	if !needsPort(in, l) {
		return append(dst, in...)
	}
	if strings.IndexByte(in, ':') >= 0 && !strings.HasPrefix(in, "[") {
		dst = append(append(append(dst, '['), in...), ']')
	} else {
		dst = append(dst, in...)
	}
	return append(append(dst, ':'), l.PortStr...)
}

func needsPort(in string, l *snapshot.Listener) bool {
	if l.LB.PreserveHostHeader || in == "" || l.HTTPS && l.Port == 443 || !l.HTTPS && l.Port == 80 {
		return false
	}
	return !hasPort(in)
}

// hasPort reports whether a Host value ends in ":port": after a bracketed
// IPv6 literal, or after a name or IPv4 address with exactly one colon.
func hasPort(h string) bool {
	i := strings.LastIndexByte(h, ':')
	if i < 0 {
		return false
	}
	if strings.HasPrefix(h, "[") {
		return i > 0 && h[i-1] == ']'
	}
	return strings.IndexByte(h, ':') == i
}

// ClientAddr formats the client's address for X-Forwarded-For: the IP, and
// the IP with its port (IPv6 in brackets). Engines compute it once per
// connection.
func ClientAddr(client netip.AddrPort) (ip, ipPort string) {
	a := client.Addr().Unmap()
	ip = a.String()
	ipPort = ip
	if a.Is6() {
		ipPort = "[" + ip + "]"
	}
	return ip, ipPort + ":" + strconv.Itoa(int(client.Port()))
}

// XFF returns the X-Forwarded-For value to send given the values the client
// sent and the client's address as ClientAddr formats it, and false when
// none is to be sent.
func XFF(lb *snapshot.LoadBalancer, prior []string, ip, ipPort string) (string, bool) {
	switch lb.XFF {
	case "preserve":
		if len(prior) == 0 {
			return "", false
		}
		if len(prior) == 1 {
			return prior[0], true
		}
		return strings.Join(prior, ", "), true
	case "remove":
		return "", false
	}
	addr := ip
	if lb.XFFClientPort {
		addr = ipPort
	}
	if len(prior) > 0 {
		addr = strings.Join(prior, ", ") + ", " + addr
	}
	return addr, true
}

// XFFCount counts the addresses in X-Forwarded-For values.
func XFFCount(vs []string) int {
	n := 0
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			continue
		}
		n += strings.Count(v, ",") + 1
	}
	return n
}

// ValidHeaderName reports whether name uses only [-A-Za-z0-9], the names
// drop_invalid_header_fields keeps.
func ValidHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// TraceID returns the X-Amzn-Trace-Id to send: a new Root, or, when the
// client sent a Root, that header with this hop's Self field in front.
func TraceID(in string, now time.Time) string {
	var b [64]byte
	return string(AppendTraceID(b[:0], in, now))
}

// AppendTraceID appends TraceID(in, now) to dst; it allocates only when the
// client sent a trace header of its own.
func AppendTraceID(dst []byte, in string, now time.Time) []byte {
	if in == "" || len(in) > 256 || !strings.Contains(in, "Root=") {
		return appendNewID(append(dst, "Root="...), now)
	}
	dst = appendNewID(append(dst, "Self="...), now)
	for _, f := range strings.Split(in, ";") {
		if f = strings.TrimSpace(f); f != "" && !strings.HasPrefix(f, "Self=") {
			dst = append(append(dst, ';'), f...)
		}
	}
	return dst
}

// appendNewID appends 1-<8 hex seconds>-<24 random hex>.
func appendNewID(dst []byte, now time.Time) []byte {
	var b [35]byte
	b[0], b[1], b[10] = '1', '-', '-'
	sec := uint32(now.Unix())
	for i := 0; i < 8; i++ {
		b[2+i] = hexDigits[(sec>>(28-4*i))&0xf]
	}
	r1, r2 := rand.Uint64(), rand.Uint64()
	for i := 0; i < 16; i++ {
		b[11+i] = hexDigits[(r1>>(60-4*i))&0xf]
	}
	for i := 0; i < 8; i++ {
		b[27+i] = hexDigits[(r2>>(60-4*i))&0xf]
	}
	return append(dst, b[:]...)
}

// ErrorPage is the body of the load balancer's own error response.
func ErrorPage(f *lberr.Failure) []byte {
	text := http.StatusText(f.Code)
	if text == "" {
		text = f.Reason
	}
	code := strconv.Itoa(f.Code)
	return []byte("<html>\r\n<head><title>" + code + " " + text + "</title></head>\r\n<body>\r\n<center><h1>" +
		code + " " + text + "</h1></center>\r\n</body>\r\n</html>\r\n")
}

// CheckProtocolVersion answers 464 when a request cannot be sent with the
// target group's protocol version: HTTP2 groups take HTTP/2 requests, GRPC
// groups take gRPC (HTTP/2 with an application/grpc content type).
func CheckProtocolVersion(version string, protoMajor int, contentType string) *lberr.Failure {
	switch version {
	case "GRPC":
		if protoMajor != 2 || !strings.HasPrefix(contentType, "application/grpc") {
			return lberr.ErrProtocolMismatch
		}
	case "HTTP2":
		if protoMajor != 2 {
			return lberr.ErrProtocolMismatch
		}
	}
	return nil
}

// Retryable reports whether a request may be sent to a second target after
// the first refused the connection: an idempotent method without a body.
func Retryable(method string, hasBody bool) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return !hasBody
	}
	return false
}

// Choice is the outcome of choosing where a forward goes.
type Choice struct {
	Route  *snapshot.Route
	Target *target.Target
	// Cookies are stickiness cookies decided before the target answered
	// (the group cookie).
	Cookies []*http.Cookie
	// StickTarget asks for a target cookie naming the target that answers
	// (decided after any retry).
	StickTarget bool
	// NonSticky is set when the request carried a stickiness cookie that
	// could not be used (its target gone or unhealthy, or the cookie
	// invalid), so a new target was chosen: ALB's NonStickyRequestCount.
	NonSticky bool
}

// Cookies gives read access to a request's cookies.
type Cookies interface {
	// Cookie returns the value of the named cookie, or "" when absent.
	Cookie(name string) string
}

// Choose picks the target group and target for a forward. Target is nil
// when the group has no registered targets.
func Choose(s *snapshot.Snapshot, l *snapshot.Listener, fa *snapshot.ForwardAction, cookie Cookies, now time.Time) Choice {
	var c Choice
	c.Route = pickRoute(s, l, fa, cookie, now, &c)
	tg := c.Route.Group
	v := ""
	switch tg.Stickiness {
	case "lb_cookie":
		v = firstCookie(cookie, balancer.CookieLB, balancer.CookieLBCORS)
	case "app_cookie":
		v = cookie.Cookie(balancer.CookieApp)
	}
	if v != "" {
		if k, ok := s.Keyring.OpenTarget(v, now); ok && k.Group == tg.Name {
			c.Target, _ = tg.Group.Sticky(k)
		}
	}
	if c.Target == nil {
		c.NonSticky = v != ""
		c.Target, _ = tg.Group.Pick(nil)
	}
	c.StickTarget = c.Target != nil && tg.Stickiness == "lb_cookie"
	return c
}

func firstCookie(cookie Cookies, name, cors string) string {
	if v := cookie.Cookie(name); v != "" {
		return v
	}
	return cookie.Cookie(cors)
}

// pickRoute chooses the target group of a weighted forward, honouring and
// refreshing group stickiness.
func pickRoute(s *snapshot.Snapshot, l *snapshot.Listener, fa *snapshot.ForwardAction, cookie Cookies, now time.Time, c *Choice) *snapshot.Route {
	if fa.GroupStickiness <= 0 {
		return fa.PickRoute(rand.Uint64())
	}
	var route *snapshot.Route
	if v := firstCookie(cookie, balancer.CookieTG, balancer.CookieTGCORS); v != "" {
		if name, ok := s.Keyring.OpenGroup(v, now); ok {
			route = fa.RouteFor(name)
		}
	}
	if route == nil {
		route = fa.PickRoute(rand.Uint64())
	}
	exp := now.Add(fa.GroupStickiness)
	c.Cookies = append(c.Cookies, balancer.TGCookies(s.Keyring.SealGroup(route.Group.Name, exp), exp, l.HTTPS)...)
	return route
}

// ResponseCookies returns the Set-Cookie values to add to the answering
// target's response: the target cookie when asked for, and the app cookie
// when the target set the application's session cookie.
func ResponseCookies(s *snapshot.Snapshot, l *snapshot.Listener, c *Choice, t *target.Target, setCookies []string, now time.Time) []string {
	var out []string
	for _, ck := range c.Cookies {
		out = append(out, ck.String())
	}
	tg := c.Route.Group
	if c.StickTarget {
		exp := now.Add(tg.StickinessDuration)
		for _, ck := range balancer.LBCookies(s.Keyring.SealTarget(t.Key, exp), exp, l.HTTPS) {
			out = append(out, ck.String())
		}
	}
	if tg.Stickiness == "app_cookie" && setsCookie(setCookies, tg.AppCookieName) {
		exp := now.Add(tg.StickinessDuration)
		out = append(out, balancer.AppCookie(s.Keyring.SealTarget(t.Key, exp), exp).String())
	}
	return out
}

func setsCookie(setCookies []string, name string) bool {
	for _, sc := range setCookies {
		if strings.HasPrefix(sc, name) && len(sc) > len(name) && sc[len(name)] == '=' {
			return true
		}
	}
	return false
}

// ConnectFailed handles a target that could not be connected to on the
// request path: the target is taken out at once (passive health checking)
// and, when retry allows (an idempotent request without a body, not retried
// yet), another target of the same group is returned to send the request
// to; otherwise nil.
func ConnectFailed(route *snapshot.Route, t *target.Target, err error, now time.Time, log *slog.Logger, retry bool) *target.Target {
	t.Eject(now, "Connection to target failed: "+err.Error())
	log.Warn("target connection failed", "target_group", route.Group.Name, "target", t.Addr, "err", err)
	if !retry {
		return nil
	}
	if next, _ := route.Group.Group.Pick(t); next != nil && next != t {
		return next
	}
	return nil
}
