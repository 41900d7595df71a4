package router

import (
	"errors"
	"fmt"
	"net/netip"
	"net/textproto"
)

// Condition is one compiled rule condition. Match reports whether the
// request satisfies it; it must not allocate or modify r, and it must be safe
// to call from many goroutines at once.
type Condition interface {
	Match(r *Request) bool
}

// Limits on condition values, as on ALB.
const (
	maxPatternLen    = 128 // host, path, header value, query key and value
	maxHeaderNameLen = 40
	maxMethodLen     = 40
)

var (
	_ Condition = (*hostCondition)(nil)
	_ Condition = (*pathCondition)(nil)
	_ Condition = (*headerCondition)(nil)
	_ Condition = (*methodCondition)(nil)
	_ Condition = (*queryCondition)(nil)
	_ Condition = (*sourceIPCondition)(nil)
)

var errNoValues = errors.New("at least one value is required")

// compileAll checks each pattern's length, then passes it to prepare, which
// checks its characters and returns the form to compile. field names the
// condition in errors.
func compileAll(field string, patterns []string, fold bool, prepare func(string) (string, error)) ([]wildcard, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("%s: %w", field, errNoValues)
	}
	out := make([]wildcard, 0, len(patterns))
	for _, p := range patterns {
		err := checkLen(p, maxPatternLen)
		var q string
		if err == nil {
			q, err = prepare(p)
		}
		var w wildcard
		if err == nil {
			w, err = compileWildcard(q, fold, false)
		}
		if err != nil {
			return nil, fmt.Errorf("%s value %q: %w", field, p, err)
		}
		out = append(out, w)
	}
	return out, nil
}

func checkLen(s string, max int) error {
	if s == "" {
		return errEmpty
	}
	if len(s) > max {
		return fmt.Errorf("longer than %d characters", max)
	}
	return nil
}

// checkChars returns an error naming the first byte of s that ok refuses.
func checkChars(s string, ok func(byte) bool) error {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return fmt.Errorf("character %q at offset %d is not allowed", s[i], i)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isPrintable reports whether c is visible ASCII or a space: ALB rules only
// deal in those, never in control characters or bytes above 0x7e.
func isPrintable(c byte) bool { return 0x20 <= c && c <= 0x7e }

// PathPattern returns a path-pattern condition: the request path, as sent
// and without its query, matches one of patterns case-sensitively. '*'
// matches any run of characters, '/' included, and '?' exactly one. A pattern
// may hold letters, digits, _ - . $ / ~ " ' @ : + & * ? and percent-encoded
// bytes (%XX); it is compared with the path as sent, not decoded, so %2F in
// the pattern matches %2F in the path and nothing else. An empty path is
// compared as "/".
func PathPattern(patterns []string) (Condition, error) {
	ws, err := compileAll("path-pattern", patterns, false, validPathPattern)
	if err != nil {
		return nil, err
	}
	return &pathCondition{patterns: ws}, nil
}

func validPathPattern(p string) (string, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			if i+2 >= len(p) || !ishex(p[i+1]) || !ishex(p[i+2]) {
				return "", fmt.Errorf("'%%' at offset %d does not start a %%XX escape", i)
			}
			i += 2
			continue
		}
		if !isAlnum(c) && !isPathPunct(c) {
			return "", fmt.Errorf("character %q at offset %d is not allowed", c, i)
		}
	}
	return p, nil
}

func isPathPunct(c byte) bool {
	switch c {
	case '_', '-', '.', '$', '/', '~', '"', '\'', '@', ':', '+', '&', '*', '?':
		return true
	}
	return false
}

type pathCondition struct{ patterns []wildcard }

func (c *pathCondition) Match(r *Request) bool {
	p := r.Path
	if p == "" {
		p = "/"
	}
	for i := range c.patterns {
		if c.patterns[i].match(p) {
			return true
		}
	}
	return false
}

// HTTPHeader returns an http-header condition: some occurrence of the
// header name matches one of patterns. The name is case-insensitive and may
// not be Host (use HostHeader). Patterns are case-insensitive with '*' and
// '?' wildcards and may hold visible ASCII and spaces. Each header line is
// matched as a whole: a line carrying "a, b" is the single value "a, b". A
// request without the header matches no pattern, not even "*".
func HTTPHeader(name string, patterns []string) (Condition, error) {
	if err := checkLen(name, maxHeaderNameLen); err != nil {
		return nil, fmt.Errorf("http-header name %q: %w", name, err)
	}
	if err := checkChars(name, isTokenChar); err != nil {
		return nil, fmt.Errorf("http-header name %q: %w", name, err)
	}
	canonical := textproto.CanonicalMIMEHeaderKey(name)
	if canonical == "Host" {
		return nil, fmt.Errorf("http-header name %q: use a host-header condition for Host", name)
	}
	ws, err := compileAll("http-header "+canonical, patterns, true, func(p string) (string, error) {
		return p, checkChars(p, isPrintable)
	})
	if err != nil {
		return nil, err
	}
	return &headerCondition{name: canonical, patterns: ws}, nil
}

// isTokenChar reports whether c may appear in a header name (RFC 9110
// token).
func isTokenChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

type headerCondition struct {
	name     string // canonical MIME form, computed once so Match does not allocate
	patterns []wildcard
}

func (c *headerCondition) Match(r *Request) bool {
	if r.Header == nil {
		return false
	}
	for _, v := range r.Header.Values(c.name) {
		for i := range c.patterns {
			if c.patterns[i].match(v) {
				return true
			}
		}
	}
	return false
}

// RequestMethod returns an http-request-method condition: the request
// method equals one of methods exactly, case included. A method is made of
// upper-case letters, '-' and '_', at most 40 of them.
func RequestMethod(methods []string) (Condition, error) {
	if len(methods) == 0 {
		return nil, fmt.Errorf("http-request-method: %w", errNoValues)
	}
	out := make([]string, 0, len(methods))
	for _, m := range methods {
		if err := checkLen(m, maxMethodLen); err != nil {
			return nil, fmt.Errorf("http-request-method value %q: %w", m, err)
		}
		err := checkChars(m, func(c byte) bool { return 'A' <= c && c <= 'Z' || c == '-' || c == '_' })
		if err != nil {
			return nil, fmt.Errorf("http-request-method value %q: %w", m, err)
		}
		out = append(out, m)
	}
	return &methodCondition{methods: out}, nil
}

type methodCondition struct{ methods []string }

func (c *methodCondition) Match(r *Request) bool {
	for _, m := range c.methods {
		if r.Method == m {
			return true
		}
	}
	return false
}

// SourceIP returns a source-ip condition: the connecting address lies in one
// of cidrs. Each entry is an IPv4 or IPv6 CIDR block, or a bare address
// standing for a single host; host bits set in a block are ignored. An
// IPv4-mapped IPv6 address (::ffff:10.0.0.1), on either side, is treated as
// the IPv4 address it carries.
func SourceIP(cidrs []string) (Condition, error) {
	if len(cidrs) == 0 {
		return nil, fmt.Errorf("source-ip: %w", errNoValues)
	}
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, s := range cidrs {
		p, err := parseSourcePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("source-ip value %q: %w", s, err)
		}
		out = append(out, p)
	}
	return &sourceIPCondition{prefixes: out}, nil
}

func parseSourcePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return netip.Prefix{}, errors.New("not a CIDR block or IP address")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("an IPv6 zone is not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

type sourceIPCondition struct{ prefixes []netip.Prefix }

func (c *sourceIPCondition) Match(r *Request) bool {
	// Prefix.Contains refuses zoned addresses and keeps IPv4-mapped
	// addresses away from IPv4 blocks; the peer's address needs neither.
	a := r.SourceIP.Unmap().WithZone("")
	if !a.IsValid() {
		return false
	}
	for _, p := range c.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
