package h1

// ForwardableName reports whether a request header may be forwarded under
// its received name: a token that no lenient parser would take for
// Transfer-Encoding or Content-Length (Transfer_Encoding, "Content-Length "
// and the like are dropped instead, so that a target can never frame a body
// differently from sluice).
func ForwardableName(name []byte) bool { return isToken(name) && lookalike(name) == kOther }

// ValidHost reports whether a Host value is host[:port] with a host of
// unreserved characters or a bracketed IP literal: what sluice routes on
// and may reflect into a redirect's Location.
func ValidHost(h []byte) bool { return validAuthority(h) }
