package h1

import (
	"bytes"
	"errors"
)

// Header is one header field line. Name is as sent (it is not validated
// beyond what the request's classification reports); Value has its leading
// and trailing OWS trimmed. Both point into the parsed buffer.
//
// A value continued on obs-fold lines spans them, line ends included
// (Request.Folded): whoever forwards it must replace each CR and LF with SP.
type Header struct {
	Name, Value []byte
}

// Limits bounds a request head. A zero field means ALB's limit.
type Limits struct {
	RequestLine int // longest request line, line end excluded; 0 means 16 KiB
	HeaderLine  int // longest header line, line end excluded; 0 means 16 KiB
	Headers     int // all header lines, line ends and the empty line included; 0 means 64 KiB
}

func (l Limits) withDefaults() Limits {
	if l.RequestLine <= 0 {
		l.RequestLine = 16 << 10
	}
	if l.HeaderLine <= 0 {
		l.HeaderLine = 16 << 10
	}
	if l.Headers <= 0 {
		l.Headers = 64 << 10
	}
	return l
}

// Request is a parsed and classified request head. Every slice points into
// the buffer given to ParseRequest.
type Request struct {
	// Method is the method as sent (methods are case-sensitive).
	Method []byte
	// Target is the request-target as sent. Path and Query split it at the
	// first '?' (Query without the '?'). For an absolute-form target
	// (http://host/p?q) Path and Query are those of the URI, empty Path
	// meaning "/", and Host is its authority. For an authority-form target
	// (CONNECT host:port) and the asterisk form (OPTIONS *) Path is the
	// whole target.
	Target, Path, Query []byte
	// Proto is the HTTP-version as sent, nil for an HTTP/0.9-style request
	// line without one.
	Proto []byte
	// Major and Minor are the version: 1.0 or 1.1; 0.9 for a request line
	// without a version; HTTP/1.2 to HTTP/1.9 are reported as 1.1, and a
	// malformed version as 1.0.
	Major, Minor int
	// Headers are the header fields with a colon, in wire order, framing
	// headers included. Lines without a colon are not in it.
	Headers []Header
	// Host is the first Host header's value, or the authority of an
	// absolute-form or authority-form target; nil if there is neither.
	Host []byte
	// ContentLength is the body length from Content-Length, -1 if there is
	// none or the body is chunked (Transfer-Encoding overrides it).
	ContentLength int64
	// Chunked is true when the final transfer coding is chunked.
	Chunked bool
	// TEUnsupported is true when Transfer-Encoding lists only well-formed
	// codings and at least one of them is a registered coding sluice does
	// not implement (gzip, deflate, compress, x-gzip, x-compress): the
	// engine answers 501 rather than 400.
	TEUnsupported bool
	// KeepAlive is true for HTTP/1.1 unless Connection has "close", and
	// for HTTP/1.0 only when Connection has "keep-alive" and not "close".
	KeepAlive bool
	// Upgrade is true for an HTTP/1.1 request whose Connection has
	// "upgrade" and that has an Upgrade header.
	Upgrade bool
	// Expect100 is true for an HTTP/1.1 request with Expect: 100-continue.
	Expect100 bool
	// Folded is true when a header value spans obs-fold lines.
	Folded bool
	// FramingOK is true when the body length is determinable unambiguously:
	// false for MultipleContentLength, BadContentLength,
	// BadTransferEncoding, MultipleTransferEncodingChunked, a folded
	// Transfer-Encoding or Content-Length, and a bare CR anywhere in the
	// head (which some parsers take as a line end).
	FramingOK bool
	// Class and Reason are the classification: Reason is the first reason
	// (in constant order) of the highest class present in Reasons.
	Class  Class
	Reason Reason
	// Reasons has bit i set when Reason(i) applies.
	Reasons uint64
}

// Has reports whether reason applies to the request.
func (r *Request) Has(reason Reason) bool { return r.Reasons&(1<<reason) != 0 }

func (r *Request) reset() {
	*r = Request{Headers: r.Headers[:0], ContentLength: -1, FramingOK: true}
}

// ErrIncomplete means the buffer does not hold a whole head yet and is still
// within the limits: read more and parse again.
var ErrIncomplete = errors.New("h1: incomplete head")

// Error is a request (or, from ParseResponse, a response) the load balancer
// must answer itself with Status. The values returned are shared: do not
// modify them.
type Error struct {
	Status int    // 400, 414 or 505 for requests; 502 for responses
	Reason Reason // the classification reason behind the error, if any
	Msg    string // what went wrong, safe to show
}

// Error returns the message, prefixed with the package name.
func (e *Error) Error() string { return "h1: " + e.Msg }

var (
	errRequestLine  = &Error{Status: 414, Msg: "request line too long"}
	errBlankLines   = &Error{Status: 400, Msg: "too many empty lines before the request line"}
	errHeaderLine   = &Error{Status: 400, Msg: "header line too long"}
	errHeaders      = &Error{Status: 400, Msg: "request headers too large"}
	errVersion      = &Error{Status: 505, Msg: "HTTP version not supported"}
	errMissingHost  = &Error{Status: 400, Msg: "missing Host header"}
	errMultipleHost = &Error{Status: 400, Msg: "multiple Host headers"}
)

// ParseRequest parses the request head at the start of b into r, reusing
// r.Headers' capacity. It returns the head length (through the empty line)
// when the head is complete; ErrIncomplete when b holds no complete head yet
// and is still within lim; an *Error when the head can never be valid
// (HTTP/2 and later on the wire, a missing or repeated Host) or is over a
// limit. Limits are checked as the bytes arrive: a request line longer than
// lim.RequestLine fails as soon as that many bytes hold no line end. On an
// *Error about the Host header, r is filled and the head length returned.
//
// Everything else a head may get wrong is classified (r.Class, r.Reason,
// r.Reasons), not refused: the engine decides per desync mitigation mode.
// ParseRequest never reads past len(b) and keeps no reference to b.
func ParseRequest(b []byte, r *Request, lim Limits) (int, error) {
	return parseRequest(b, r, lim, false)
}

// ParseRequestAtEOF is ParseRequest for a buffer after which the client
// sent nothing more (it closed its side). A head without its empty line is
// then classified MissingLastEmptyLine, or PartialHeaderLine when it ends
// inside a line, and parsed as if complete. It returns ErrIncomplete only
// when b holds no request line at all.
func ParseRequestAtEOF(b []byte, r *Request, lim Limits) (int, error) {
	return parseRequest(b, r, lim, true)
}

// reqParser holds the state of one ParseRequest call.
type reqParser struct {
	r    *Request
	b    []byte
	mask uint64

	last     int   // index in r.Headers of the header a continuation line continues, -1 if none
	lastKind hkind // its kind
	lastVS   int   // offset in b of its value

	hosts      int
	cl         clState
	te         teState
	connClose  bool
	connKeep   bool
	connUpg    bool
	upgradeHdr bool
	expect100  bool
	bareCR     bool
	foldedCLTE bool
	targetHost []byte // the authority of an absolute-form or authority-form target
}

func (p *reqParser) set(reason Reason) { p.mask |= 1 << reason }

func parseRequest(b []byte, r *Request, lim Limits, atEOF bool) (int, error) {
	lim = lim.withDefaults()
	r.reset()
	p := reqParser{r: r, b: b, last: -1}

	// RFC 9112 §2.2: a server SHOULD ignore at least one empty line
	// received before the request line.
	pos := 0
	for pos < len(b) {
		if b[pos] == '\n' {
			p.set(ReasonNonCrLfLineTermination)
			pos++
		} else if b[pos] == '\r' && pos+1 < len(b) && b[pos+1] == '\n' {
			pos += 2
		} else {
			break
		}
	}
	if pos > lim.RequestLine {
		return 0, errBlankLines
	}
	if pos == len(b) || (b[pos] == '\r' && pos+1 == len(b)) {
		return 0, ErrIncomplete
	}

	// The request line.
	start, next := pos, 0
	end := bytes.IndexByte(b[start:], '\n')
	partial := end < 0
	if partial {
		if overLimit(b[start:], lim.RequestLine) {
			return 0, errRequestLine
		}
		if !atEOF {
			return 0, ErrIncomplete
		}
		p.set(ReasonPartialHeaderLine)
		end, next = len(b), len(b)
	} else {
		end += start
		next = end + 1
		if end > start && b[end-1] == '\r' {
			end--
		} else {
			p.set(ReasonNonCrLfLineTermination)
		}
	}
	if end-start > lim.RequestLine {
		return 0, errRequestLine
	}
	if err := p.requestLine(b[start:end]); err != nil {
		return 0, err
	}

	// The header lines.
	hs := next
	for !partial {
		if next == len(b) {
			if !atEOF {
				if next-hs > lim.Headers {
					return 0, errHeaders
				}
				return 0, ErrIncomplete
			}
			p.set(ReasonMissingLastEmptyLine)
			break
		}
		ls := next
		le := bytes.IndexByte(b[ls:], '\n')
		if le < 0 {
			if overLimit(b[ls:], lim.HeaderLine) {
				return 0, errHeaderLine
			}
			if len(b)-hs > lim.Headers {
				return 0, errHeaders
			}
			if !atEOF {
				return 0, ErrIncomplete
			}
			p.set(ReasonPartialHeaderLine)
			next = len(b)
			p.header(ls, len(b))
			break
		}
		le += ls
		next = le + 1
		if le > ls && b[le-1] == '\r' {
			le--
		} else {
			p.set(ReasonNonCrLfLineTermination)
		}
		if le-ls > lim.HeaderLine {
			return 0, errHeaderLine
		}
		if next-hs > lim.Headers {
			return 0, errHeaders
		}
		if le == ls {
			break
		}
		p.header(ls, le)
	}

	p.finish()
	switch {
	case p.hosts > 1:
		return next, errMultipleHost
	case p.hosts == 0 && r.Major == 1 && r.Minor == 1:
		return next, errMissingHost
	}
	return next, nil
}

// overLimit reports whether an unterminated line is already longer than
// limit, allowing for the CR of a CRLF still to come.
func overLimit(line []byte, limit int) bool {
	return len(line) > limit+1 || (len(line) == limit+1 && line[limit] != '\r')
}
