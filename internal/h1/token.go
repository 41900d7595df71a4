package h1

import (
	"bytes"
	"iter"
)

// EqualFold reports whether a equals s under ASCII case folding. Bytes
// outside ASCII must match exactly.
func EqualFold(a []byte, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Tokens returns the elements of a comma-separated header list value such as
// Connection's, with OWS trimmed and empty elements skipped. The elements
// point into v.
func Tokens(v []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(v) > 0 {
			var tok []byte
			tok, v = nextElement(v)
			if len(tok) > 0 && !yield(tok) {
				return
			}
		}
	}
}

// HasToken reports whether the list value v has an element equal to token
// under ASCII case folding, as "close" in "Connection: keep-alive, Close".
func HasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var tok []byte
		tok, v = nextElement(v)
		if EqualFold(tok, token) {
			return true
		}
	}
	return false
}

// nextElement splits the first element off a comma-separated list and trims
// its OWS. The element may be empty.
func nextElement(v []byte) (elem, rest []byte) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		return trimOWS(v[:i]), v[i+1:]
	}
	return trimOWS(v), nil
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(v []byte) []byte {
	for len(v) > 0 && isOWS(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isOWS(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && EqualFold(b[:len(prefix)], prefix)
}
