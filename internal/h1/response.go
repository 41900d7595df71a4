package h1

import "bytes"

// Response is a parsed response head from a target. Every slice points into
// the buffer given to ParseResponse.
type Response struct {
	Proto        []byte // "HTTP/1.0" or "HTTP/1.1"
	Major, Minor int
	Status       int
	Reason       []byte   // the reason phrase, possibly empty
	Headers      []Header // in wire order, framing headers included
	// ContentLength is the Content-Length value, -1 if there is none or
	// the body is chunked: Transfer-Encoding overrides Content-Length
	// (RFC 9112 §6.3), and the received Content-Length must not be
	// forwarded with a chunked body.
	ContentLength int64
	Chunked       bool // the final transfer coding is chunked
	KeepAlive     bool // the target keeps the connection open after the body
	Upgrade       bool // Connection has "upgrade" and an Upgrade header is present
}

// BodyKind is how a response body is delimited.
type BodyKind uint8

// The body kinds.
const (
	BodyNone       BodyKind = iota // no body: HEAD, 1xx, 204, 304, 2xx to CONNECT
	BodyLength                     // Content-Length bytes
	BodyChunked                    // chunked transfer coding
	BodyUntilClose                 // everything until the target closes
)

var (
	errStatusLine   = &Error{Status: 502, Msg: "malformed status line"}
	errRespHeader   = &Error{Status: 502, Msg: "malformed response header"}
	errRespTooLarge = &Error{Status: 502, Msg: "response head too large"}
	errRespCL       = &Error{Status: 502, Msg: "bad or conflicting Content-Length in response"}
	errRespTE       = &Error{Status: 502, Msg: "bad Transfer-Encoding in response"}
)

// ParseResponse parses the response head at the start of b into r, reusing
// r.Headers' capacity. It returns the head length when complete,
// ErrIncomplete when b holds no complete head and is at most maxHead bytes
// long, and an *Error (Status 502) for a head longer than maxHead (0 means
// ALB's 32 KiB) or one that is malformed: a bad status line, a header name
// that is not a token, CTL bytes in a value, obs-fold, a bad Content-Length
// or Content-Length fields with different values, or a Transfer-Encoding
// whose final coding is not chunked (or that an HTTP/1.0 response has).
// Bare LF line ends are accepted, as user agents do; the engine writes its
// own head to the client.
func ParseResponse(b []byte, r *Response, maxHead int) (int, error) {
	if maxHead <= 0 {
		maxHead = 32 << 10
	}
	*r = Response{Headers: r.Headers[:0], ContentLength: -1}

	next := 0
	line, next, err := nextLine(b, next, maxHead)
	if err != nil {
		return 0, err
	}
	if err := r.statusLine(line); err != nil {
		return 0, err
	}

	var (
		clSeen, te, connClose, connKeep, connUpg, upgradeHdr bool
		chunked                                              int
		lastChunked, otherCoding                             bool
	)
	for {
		line, next, err = nextLine(b, next, maxHead)
		if err != nil {
			return 0, err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return 0, errRespHeader // also obs-fold: the line starts with SP or HTAB
		}
		name, value := line[:colon:colon], trimOWS(line[colon+1:])
		if scan(value, &valueTable)&(cNonCompliant|cBad) != 0 {
			// obs-text passes valueTable only as non-compliant: allow it.
			for _, c := range value {
				if c < 0x80 && valueTable[c] != 0 {
					return 0, errRespHeader
				}
			}
		}
		switch kindOf(name) {
		case kContentLength:
			n, _, ok := parseDecimal(value)
			if !ok || clSeen && n != r.ContentLength {
				return 0, errRespCL
			}
			clSeen, r.ContentLength = true, n
		case kTransferEncoding:
			te = true
			for v := value; ; {
				var c []byte
				c, v = nextElement(v)
				switch {
				case EqualFold(c, "chunked"):
					chunked++
					lastChunked = true
				case EqualFold(c, "identity"):
					lastChunked = false
				case isToken(c):
					lastChunked, otherCoding = false, true
				default:
					return 0, errRespTE
				}
				if v == nil {
					break
				}
			}
		case kConnection:
			connClose = connClose || HasToken(value, "close")
			connKeep = connKeep || HasToken(value, "keep-alive")
			connUpg = connUpg || HasToken(value, "upgrade")
		case kUpgrade:
			upgradeHdr = upgradeHdr || len(value) > 0
		}
		r.Headers = append(r.Headers, Header{Name: name, Value: value})
	}
	if te {
		// RFC 9112 §6.1: chunked once and last; a response to an HTTP/1.0
		// request cannot be chunked, and an HTTP/1.0 response with
		// Transfer-Encoding has faulty framing.
		if chunked > 1 || chunked == 1 && !lastChunked || chunked == 0 && otherCoding || r.Minor == 0 {
			return 0, errRespTE
		}
		if chunked == 1 {
			r.Chunked = true
			r.ContentLength = -1
		}
	}
	if r.Minor == 1 {
		r.KeepAlive = !connClose
	} else {
		r.KeepAlive = connKeep && !connClose
	}
	r.Upgrade = connUpg && upgradeHdr
	return next, nil
}

// nextLine returns the line starting at b[pos] without its line end (CRLF
// or LF), and the offset after it. A CR not followed by LF is an error.
func nextLine(b []byte, pos, maxHead int) (line []byte, next int, err error) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		if len(b) > maxHead {
			return nil, 0, errRespTooLarge
		}
		return nil, 0, ErrIncomplete
	}
	end := pos + i
	next = end + 1
	if next > maxHead {
		return nil, 0, errRespTooLarge
	}
	if end > pos && b[end-1] == '\r' {
		end--
	}
	line = b[pos:end:end]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, 0, errRespHeader
	}
	return line, next, nil
}

// statusLine parses "HTTP/1.x SP 3DIGIT [SP reason-phrase]". The status
// must be 100–599 (RFC 9110 §15); the reason may be absent, space included.
func (r *Response) statusLine(line []byte) error {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' {
		return errStatusLine
	}
	r.Proto, r.Major, r.Minor = line[:8:8], 1, int(line[7]-'0')
	s := line[9:12]
	if !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) {
		return errStatusLine
	}
	r.Status = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	if r.Status < 100 || r.Status > 599 {
		return errStatusLine
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return errStatusLine
		}
		r.Reason = line[13:]
		for _, c := range r.Reason {
			if c < 0x80 && valueTable[c] != 0 {
				return errStatusLine
			}
		}
	}
	return nil
}

// BodyKind tells how the body of r, a response to a request with method
// reqMethod, is delimited (RFC 9112 §6.3), and its length for BodyLength. A
// 2xx response to CONNECT and a 101 have no body: the connection becomes a
// tunnel after the head.
func (r *Response) BodyKind(reqMethod []byte) (kind BodyKind, n int64) {
	switch {
	case string(reqMethod) == "HEAD", r.Status < 200, r.Status == 204, r.Status == 304,
		string(reqMethod) == "CONNECT" && r.Status < 300:
		return BodyNone, 0
	case r.Chunked:
		return BodyChunked, -1
	case r.ContentLength >= 0:
		return BodyLength, r.ContentLength
	}
	return BodyUntilClose, -1
}
