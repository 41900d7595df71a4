package router

import (
	"errors"
	"strings"
)

// HostHeader returns a host-header condition: the request's host name
// matches one of patterns, ignoring case. '*' matches any run of characters,
// dots included, and '?' exactly one, so "*.example.com" matches
// "a.example.com" and "a.b.example.com" but not "example.com". A pattern
// holds letters, digits, '-', '.', '*' and '?', at most 128 of them; one
// trailing dot is dropped, as the request's is.
//
// The request side is the Host header with its port and one trailing dot
// removed (see hostName). A request without a Host header is compared as the
// empty string, which only "*" matches.
func HostHeader(patterns []string) (Condition, error) {
	ws, err := compileAll("host-header", patterns, true, prepareHostPattern)
	if err != nil {
		return nil, err
	}
	return &hostCondition{patterns: ws}, nil
}

// prepareHostPattern checks p and drops one trailing dot, after the length
// and character checks have seen what the user wrote.
func prepareHostPattern(p string) (string, error) {
	if err := checkChars(p, func(c byte) bool {
		return isAlnum(c) || c == '-' || c == '.' || c == '*' || c == '?'
	}); err != nil {
		return "", err
	}
	if p == "." {
		return "", errors.New("a host name needs more than a dot")
	}
	return strings.TrimSuffix(p, "."), nil
}

type hostCondition struct{ patterns []wildcard }

func (c *hostCondition) Match(r *Request) bool {
	h := hostName(r.Host)
	for i := range c.patterns {
		if c.patterns[i].match(h) {
			return true
		}
	}
	return false
}

// hostName returns the host name rules compare: host without its port (see
// stripPort) and without one trailing dot, so "Example.com.:8080" gives
// "Example.com". It returns a substring of host and never allocates.
func hostName(host string) string {
	h := stripPort(host)
	if n := len(h); n > 0 && h[n-1] == '.' {
		h = h[:n-1]
	}
	return h
}

// stripPort removes a ":port" suffix from a Host header value. The port may
// be empty (RFC 3986 allows "host:") or made of digits. A bracketed IPv6
// literal keeps its brackets ("[::1]:8080" gives "[::1]"); an unbracketed
// value with more than one colon is taken to be a bare IPv6 address and left
// alone; anything else after the colon means it was no port, and the value
// is left alone too. stripPort(stripPort(h)) == stripPort(h).
func stripPort(host string) string {
	i := len(host) - 1
	for i >= 0 && '0' <= host[i] && host[i] <= '9' {
		i--
	}
	if i < 0 || host[i] != ':' {
		return host // no port
	}
	// host[i:] is ":digits": a port, unless the colon belongs to an
	// address.
	if strings.HasPrefix(host, "[") {
		if strings.IndexByte(host, ']') != i-1 {
			return host
		}
	} else if strings.IndexByte(host[:i], ':') >= 0 {
		return host // a bare IPv6 address
	}
	return host[:i]
}
