package h1

import "bytes"

// requestLine parses "method SP request-target SP HTTP-version". As in the
// guardian, the method ends at the first SP and the version starts after the
// last one; the target is everything between, spaces included (SpaceInUri).
func (p *reqParser) requestLine(line []byte) *Error {
	r := p.r
	var rest []byte
	if sp := bytes.IndexByte(line, ' '); sp >= 0 {
		r.Method, rest = line[:sp:sp], line[sp+1:]
	} else {
		r.Method = line
	}
	if f := scan(r.Method, &nameTable); f != 0 || len(r.Method) == 0 {
		p.set(ReasonBadMethod)
		p.bareCR = p.bareCR || f&cCR != 0
	}

	// Whitespace after the version: "HTTP/1.1 ".
	e := len(rest)
	for e > 0 && isOWS(rest[e-1]) {
		e--
	}
	if e < len(rest) {
		p.set(ReasonNonCompliantVersion)
	}
	rest = rest[:e]

	var target, proto []byte
	if sp := bytes.LastIndexByte(rest, ' '); sp >= 0 {
		target, proto = rest[:sp:sp], rest[sp+1:]
	} else if bytes.HasPrefix(rest, []byte("HTTP/")) || len(rest) == 0 {
		proto = rest // "GET HTTP/1.1", or "GET" alone
	} else {
		target = rest // "GET /": HTTP/0.9
	}

	if len(proto) > 0 {
		if err := p.version(proto); err != nil {
			return err
		}
		r.Proto = proto
	} else {
		// No version: an HTTP/0.9 request line. The guardian classifies it
		// Acceptable; the engine answers it as HTTP/1.0.
		p.set(ReasonNonCompliantVersion)
		r.Major, r.Minor = 0, 9
	}
	if target == nil {
		p.set(ReasonMissingUri)
		return nil
	}
	p.target(target)
	return nil
}

// version parses an HTTP-version. HTTP/1.0 and HTTP/1.1 are compliant,
// HTTP/0.9 and HTTP/1.2–1.9 Acceptable, HTTP/2 and later (which never come
// over HTTP/1.x framing) an error 505, anything else BadVersion — including
// lower case "http/1.1", which is case-sensitive in RFC 9112.
func (p *reqParser) version(v []byte) *Error {
	r := p.r
	r.Major, r.Minor = 1, 0
	if len(v) < 6 || string(v[:5]) != "HTTP/" || !isDigit(v[5]) {
		p.set(ReasonBadVersion)
		p.bareCR = p.bareCR || bytes.IndexByte(v, '\r') >= 0
		return nil
	}
	major := int(v[5] - '0')
	if len(v) == 6 && major >= 2 {
		return errVersion // "HTTP/2"
	}
	if len(v) != 8 || v[6] != '.' || !isDigit(v[7]) {
		p.set(ReasonBadVersion)
		p.bareCR = p.bareCR || bytes.IndexByte(v, '\r') >= 0
		return nil
	}
	minor := int(v[7] - '0')
	switch {
	case major >= 2:
		return errVersion
	case major == 1 && minor <= 1:
		r.Minor = minor
	case major == 1:
		p.set(ReasonNonCompliantVersion)
		r.Minor = 1
	case major == 0 && minor == 9:
		p.set(ReasonNonCompliantVersion)
		r.Major, r.Minor = 0, 9
	default:
		p.set(ReasonBadVersion)
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// target classifies the request-target's bytes as the guardian does (NUL,
// CR → BadUri; SP → SpaceInUri; other CTL and DEL → AmbiguousUri) and checks
// its form, which the guardian does not: a target that is not origin-form,
// absolute-form (http or https), authority-form for CONNECT or "*" for
// OPTIONS cannot be routed, and is BadUri.
func (p *reqParser) target(t []byte) {
	r := p.r
	r.Target = t
	f := scanURI(t)
	if f&cBad != 0 {
		p.set(ReasonBadUri)
		p.bareCR = p.bareCR || f&cCR != 0
	}
	if f&cSP != 0 {
		p.set(ReasonSpaceInUri)
	}
	if f&cNonCompliant != 0 {
		p.set(ReasonAmbiguousUri)
	}
	connect := string(r.Method) == "CONNECT"
	switch {
	case len(t) == 0:
		p.set(ReasonBadUri)
	case t[0] == '/':
		if connect {
			p.set(ReasonBadUri)
		}
		r.Path, r.Query = splitQuery(t)
	case len(t) == 1 && t[0] == '*':
		if string(r.Method) != "OPTIONS" {
			p.set(ReasonBadUri)
		}
		r.Path = t
	case hasPrefixFold(t, "http://") || hasPrefixFold(t, "https://"):
		if connect {
			p.set(ReasonBadUri)
		}
		rest := t[bytes.IndexByte(t, ':')+3:]
		i := 0
		for i < len(rest) && rest[i] != '/' && rest[i] != '?' {
			i++
		}
		if !validAuthority(rest[:i]) {
			p.set(ReasonBadUri)
		}
		p.targetHost = rest[:i:i]
		r.Path, r.Query = splitQuery(rest[i:])
	case connect:
		// authority-form: uri-host ":" port.
		c := bytes.LastIndexByte(t, ':')
		if c < 0 || !validAuthority(t) || !allDigits(t[c+1:]) || t[len(t)-1] == ']' {
			p.set(ReasonBadUri)
		}
		p.targetHost = t
		r.Path = t
	default:
		p.set(ReasonBadUri)
	}
}

func splitQuery(t []byte) (path, query []byte) {
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		return t[:q:q], t[q+1:]
	}
	return t, nil
}

// validAuthority accepts host [":" port], where host is a reg-name of
// unreserved characters or an IP-literal ("[" hex, ':' and '.' "]") and port
// is digits. Userinfo ("user@host", which RFC 9110 §4.2.4 says to treat as
// an error), percent-encoding and sub-delims (which a URL parser may decode
// or refuse, routing on a different Host than sluice) are refused.
func validAuthority(a []byte) bool {
	i := 0
	if len(a) > 0 && a[0] == '[' {
		i = 1
		for i < len(a) && (unhexOK(a[i]) || a[i] == ':' || a[i] == '.') {
			i++
		}
		if i == 1 || i == len(a) || a[i] != ']' {
			return false
		}
		i++
	} else {
		for i < len(a) && isRegNameChar(a[i]) {
			i++
		}
		if i == 0 {
			return false
		}
	}
	if i == len(a) {
		return true
	}
	return a[i] == ':' && (i+1 == len(a) || allDigits(a[i+1:]))
}

func isRegNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhexOK(c byte) bool {
	_, ok := unhex(c)
	return ok
}

func allDigits(s []byte) bool {
	for _, c := range s {
		if !isDigit(c) {
			return false
		}
	}
	return len(s) > 0
}
