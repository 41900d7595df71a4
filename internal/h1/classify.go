package h1

import (
	"encoding/binary"
	"math"
)

// Byte classes, OR-ed together by scan.
const (
	cNonCompliant uint8 = 1 << iota // a byte a compliant message would not have here
	cNUL                            // NUL: a C parser ends the string here
	cCR                             // CR not followed by LF: a line end for some parsers
	cLF                             // LF inside a field (never in a request head line)
	cSP                             // SP (URI only)
)

const cBad = cNUL | cCR | cLF

var (
	// nameTable classifies field-name and method bytes: tchar is 0.
	nameTable [256]uint8
	// valueTable classifies field-value bytes: VCHAR, SP and HTAB are 0;
	// obs-text is non-compliant (the guardian accepts it; sluice reports
	// NonCompliantHeader so that strictest mode forwards only ASCII values).
	valueTable [256]uint8
	// uriTable classifies request-target bytes the way the guardian does:
	// bytes above SP other than DEL are 0, obs-text included.
	uriTable [256]uint8
)

func init() {
	for c := 0; c < 256; c++ {
		var bad uint8
		switch c {
		case 0:
			bad = cNUL
		case '\r':
			bad = cCR
		case '\n':
			bad = cLF
		}
		nameTable[c] = bad
		valueTable[c] = bad
		uriTable[c] = bad
		if bad != 0 {
			continue
		}
		if !isTchar(byte(c)) {
			nameTable[c] = cNonCompliant
		}
		if (c < 0x20 && c != '\t') || c >= 0x7f {
			valueTable[c] = cNonCompliant
		}
		switch {
		case c == ' ':
			uriTable[c] = cSP
		case c < 0x20 || c == 0x7f:
			uriTable[c] = cNonCompliant
		}
	}
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

func isToken(s []byte) bool {
	return len(s) > 0 && scan(s, &nameTable) == 0
}

// scan returns the OR of the classes of the bytes of s.
func scan(s []byte, t *[256]uint8) uint8 {
	var f uint8
	for _, c := range s {
		f |= t[c]
	}
	return f
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanValue is scan(s, &valueTable), eight bytes at a time while they are
// all SP or VCHAR (the common case).
func scanValue(s []byte) uint8 {
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		// A byte below 0x20, or at or above 0x7f.
		if (x-0x20*lsb)&^x&msb|(x+lsb|x)&msb != 0 {
			break
		}
		s = s[8:]
	}
	return scan(s, &valueTable)
}

// scanURI is scan(s, &uriTable), eight bytes at a time while none is a CTL,
// SP or DEL (the common case).
func scanURI(s []byte) uint8 {
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		// A byte below 0x21, or equal to 0x7f.
		d := x ^ 0x7f*lsb
		if (x-0x21*lsb)&^x&msb|(d-lsb)&^d&msb != 0 {
			break
		}
		s = s[8:]
	}
	return scan(s, &uriTable)
}

// hkind is what a header field means to the parser.
type hkind uint8

const (
	kOther hkind = iota
	kHost
	kContentLength
	kTransferEncoding
	kConnection
	kUpgrade
	kExpect
	kContentType
	kLikeContentLength    // a name that normalizes to content-length
	kLikeTransferEncoding // a name that normalizes to transfer-encoding
)

// kindOf returns the kind of a field name that is a token.
func kindOf(name []byte) hkind {
	switch len(name) {
	case 4:
		if EqualFold(name, "host") {
			return kHost
		}
	case 6:
		if EqualFold(name, "expect") {
			return kExpect
		}
	case 7:
		if EqualFold(name, "upgrade") {
			return kUpgrade
		}
	case 10:
		if EqualFold(name, "connection") {
			return kConnection
		}
	case 12:
		if EqualFold(name, "content-type") {
			return kContentType
		}
	case 14:
		if EqualFold(name, "content-length") {
			return kContentLength
		}
	case 17:
		if EqualFold(name, "transfer-encoding") {
			return kTransferEncoding
		}
	}
	return kOther
}

// lookalike reports whether a field name that is not exactly a framing
// header would be taken for one by a lenient parser: Transfer_Encoding,
// "Transfer-Encoding " (space before the colon), \x01Transfer-Encoding,
// Transfer-Encodıng (dotless i), Content-Length\b. It returns
// kLikeTransferEncoding, kLikeContentLength or kOther.
//
// The name is normalized by case folding, mapping the two UTF-8 letters
// whose upper case is an ASCII letter of these names (ſ → s, ı → i) and
// dropping every other non-letter; the result is compared with
// "transferencoding" and "contentlength". A name with SP or HTAB inside is
// also compared up to that whitespace, which some parsers take as the end of
// the name ("Transfer-Encoding x").
func lookalike(name []byte) hkind {
	const minLetters = len("contentlength")
	if len(name) < minLetters {
		return kOther
	}
	switch c := name[0] | 0x20; {
	case c == 't' || c == 'c':
	case 'a' <= c && c <= 'z':
		return kOther // a name starting with another letter (the common case)
	}
	if k := lookalikeNorm(name); k != kOther {
		return k
	}
	for i, c := range name {
		if isOWS(c) {
			if i >= minLetters {
				return lookalikeNorm(name[:i])
			}
			break
		}
	}
	return kOther
}

func lookalikeNorm(name []byte) hkind {
	if normalizedEqual(name, "transferencoding") {
		return kLikeTransferEncoding
	}
	if normalizedEqual(name, "contentlength") {
		return kLikeContentLength
	}
	return kOther
}

// normalizedEqual reports whether the letters of name, normalized as
// lookalike describes, spell want (lower-case ASCII letters).
func normalizedEqual(name []byte, want string) bool {
	j := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == 0xc5 && i+1 < len(name) && name[i+1] == 0xbf: // U+017F ſ
			c = 's'
			i++
		case c == 0xc4 && i+1 < len(name) && name[i+1] == 0xb1: // U+0131 ı
			c = 'i'
			i++
		default:
			continue
		}
		if j == len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}

// parseDecimal parses 1*DIGIT into an int64. It reports whether the value
// had leading zeros.
func parseDecimal(v []byte) (n int64, leadingZero, ok bool) {
	if len(v) == 0 {
		return -1, false, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1, false, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return -1, false, false
		}
		n = n*10 + d
	}
	return n, len(v) > 1 && v[0] == '0', true
}

// clState accumulates the Content-Length fields of a request, including
// lookalike names (the guardian counts them too: "Content-Length " with 100
// and "Content-Length" with 1000 is MultipleContentLength).
type clState struct {
	count    int   // fields seen, lookalikes included
	first    int64 // the first valid value
	real     bool  // a field named exactly Content-Length was seen
	realN    int64 // the value of the first valid real field
	realOK   bool  // realN is set
	bad      bool
	multiple bool
	dup      bool
	zeros    bool // leading zeros
}

// add records one Content-Length value. A comma list ("42, 42") is
// BadContentLength, as in the guardian's tests, although RFC 9110 lets a
// recipient collapse identical values: a downstream parser that reads the
// first number of "1, 1" and one that rejects it disagree.
func (s *clState) add(v []byte, real bool) {
	if real {
		s.real = true
	}
	n, zeros, ok := parseDecimal(v)
	if !ok {
		s.bad = true
		return
	}
	s.zeros = s.zeros || zeros
	if s.count == 0 {
		s.first = n
	} else if n != s.first {
		s.multiple = true
	} else {
		s.dup = true
	}
	s.count++
	if real && !s.realOK {
		s.realN, s.realOK = n, true
	}
}

// teState accumulates the Transfer-Encoding fields of a request.
type teState struct {
	real        bool // a field named exactly Transfer-Encoding was seen
	chunked     int  // chunked codings, lookalike fields included
	realChunked int  // chunked codings in real fields
	lastChunked bool // the last coding of the real fields is chunked
	bad         bool // a coding other than chunked and identity, or chunked not last
	garbage     bool // a real field's coding is not a token (or is empty, or has parameters)
	unsupported bool // a real field names a registered coding sluice does not decode
}

// add records one Transfer-Encoding value. The only codings accepted are
// chunked and identity (ignored), case-insensitively, without parameters;
// OWS around the elements is allowed. The guardian also accepts gzip,
// deflate and compress and ignores parameters; ALB answers 501 to them, and
// so does sluice (Request.TEUnsupported).
func (s *teState) add(v []byte, real bool) {
	if real {
		s.real = true
	}
	for {
		var c []byte
		c, v = nextElement(v)
		switch {
		case EqualFold(c, "chunked"):
			s.chunked++
			if real {
				s.realChunked++
				s.lastChunked = true
			}
		case EqualFold(c, "identity"):
			// identity is no coding at all, but after chunked it makes
			// chunked not the final coding.
			if real {
				s.lastChunked = false
			}
		default:
			s.bad = true
			if real {
				s.lastChunked = false
				if isToken(c) && registeredCoding(c) {
					s.unsupported = true
				} else {
					s.garbage = true
				}
			}
		}
		if v == nil {
			return
		}
	}
}

func registeredCoding(c []byte) bool {
	return EqualFold(c, "gzip") || EqualFold(c, "deflate") || EqualFold(c, "compress") ||
		EqualFold(c, "x-gzip") || EqualFold(c, "x-compress")
}
