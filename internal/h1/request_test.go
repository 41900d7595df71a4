package h1

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

const host = "Host: example.com\r\n"

// reqCase is one raw request head and what ParseRequest must make of it.
type reqCase struct {
	name   string
	in     string
	eof    bool   // parse with ParseRequestAtEOF
	err    int    // the *Error status expected; -1 for ErrIncomplete; 0 for none
	reason Reason // the reported reason; its class is checked too
	also   []Reason
	method string // checked when set
	target string // checked when set
	// framing: "" no body; "cl=N"; "chunked"; "bad" (FramingOK false).
	framing string
	// conn: "" unchecked; "keep"; "close"; "upgrade" (keep-alive and Upgrade).
	conn string
}

var reqCases = []reqCase{
	// Compliant.
	{name: "simple GET", in: "GET /index.html HTTP/1.1\r\n" + host + "\r\n",
		method: "GET", target: "/index.html", conn: "keep"},
	{name: "POST with Content-Length", in: "POST /form HTTP/1.1\r\n" + host + "Content-Length: 6\r\n\r\n",
		framing: "cl=6"},
	{name: "POST chunked", in: "POST /up HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n",
		framing: "chunked"},
	{name: "TE case-insensitive", in: "POST / HTTP/1.1\r\n" + host + "Transfer-encoding: CHUNKED\r\n\r\n",
		framing: "chunked"},
	{name: "TE tab OWS before value", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\tchunked\r\n\r\n",
		framing: "chunked"},
	{name: "TE tab OWS after value", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\t\r\n\r\n",
		framing: "chunked"},
	{name: "TE identity then chunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity, chunked\r\n\r\n",
		framing: "chunked"},
	{name: "TE identity alone", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n"},
	{name: "lowercase method is a token", in: "get / HTTP/1.1\r\n" + host + "\r\n", method: "get"},
	{name: "extension method", in: "PURGE /x HTTP/1.1\r\n" + host + "\r\n", method: "PURGE"},
	{name: "absolute-form target", in: "GET http://example.org/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
		target: "http://example.org/p?q=1"},
	{name: "OPTIONS asterisk", in: "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", target: "*"},
	{name: "CONNECT authority-form", in: "CONNECT example.com:443 HTTP/1.1\r\n" + host + "\r\n",
		target: "example.com:443"},
	{name: "UTF-8 in URI", in: "GET /странные HTTP/1.1\r\n" + host + "\r\n"},
	{name: "percent-encoded CTL in URI", in: "GET /a%0D%0A%09 HTTP/1.1\r\n" + host + "\r\n"},
	{name: "leading empty lines", in: "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n", method: "GET"},
	{name: "websocket upgrade",
		in:   "GET /chat HTTP/1.1\r\n" + host + "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n",
		conn: "upgrade"},
	{name: "upgrade token without Upgrade header",
		in: "GET / HTTP/1.1\r\n" + host + "Connection: upgrade\r\n\r\n", conn: "keep"},
	{name: "expect 100-continue",
		in:      "PUT /f HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nContent-Length: 10\r\n\r\n",
		framing: "cl=10"},
	{name: "HTTP/1.1 Connection close", in: "GET / HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n", conn: "close"},
	{name: "HTTP/1.0 default close", in: "GET / HTTP/1.0\r\n\r\n", conn: "close"},
	{name: "HTTP/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", conn: "keep"},
	{name: "HTTP/1.0 keep-alive and close", in: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", conn: "close"},
	{name: "tchars in header name", in: "GET / HTTP/1.1\r\n" + host + "My_Custom.Header!#$%&'*+^`|~09: v\r\n\r\n"},
	{name: "X-test value mentions TE", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 4\r\nX-test: Transfer-Encoding: chunked\r\n\r\n",
		framing: "cl=4"},

	// Acceptable.
	{name: "header name with space", in: "GET / HTTP/1.1\r\n" + host + "X Foo: bar\r\n\r\n",
		reason: ReasonNonCompliantHeader},
	{name: "space before colon, non-framing", in: "GET / HTTP/1.1\r\n" + host + "X-Foo : bar\r\n\r\n",
		reason: ReasonNonCompliantHeader},
	{name: "obs-text in value", in: "GET / HTTP/1.1\r\n" + host + "X-Name: caf\xc3\xa9 \xff\r\n\r\n",
		reason: ReasonNonCompliantHeader},
	{name: "CTL in value", in: "GET / HTTP/1.1\r\n" + host + "X-Name: a\x01b\r\n\r\n",
		reason: ReasonNonCompliantHeader},
	{name: "DEL in name", in: "GET / HTTP/1.1\r\n" + host + "X-Na\x7fme: a\r\n\r\n",
		reason: ReasonNonCompliantHeader},
	{name: "CL leading zeros", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 0012\r\n\r\n",
		reason: ReasonNonCompliantHeader, framing: "cl=12"},
	{name: "space in URI", in: "GET /a b HTTP/1.1\r\n" + host + "\r\n",
		reason: ReasonSpaceInUri, target: "/a b"},
	{name: "space in query", in: "GET /p?param=not escaped HTTP/1.1\r\n" + host + "\r\n",
		reason: ReasonSpaceInUri, target: "/p?param=not escaped"},
	{name: "HTTP/1.2", in: "GET / HTTP/1.2\r\n" + host + "\r\n", reason: ReasonNonCompliantVersion, conn: "keep"},
	{name: "HTTP/1.9 without Host is 400 as 1.1", in: "GET / HTTP/1.9\r\n\r\n", err: 400},
	{name: "trailing space after version", in: "GET / HTTP/1.1 \r\n" + host + "\r\n",
		reason: ReasonNonCompliantVersion, target: "/"},
	{name: "trailing tab after version", in: "GET / HTTP/1.1\t\r\n" + host + "\r\n", reason: ReasonNonCompliantVersion},
	{name: "HTTP/0.9 style", in: "GET /\r\n\r\n", reason: ReasonNonCompliantVersion, target: "/", conn: "close"},
	{name: "explicit HTTP/0.9", in: "GET / HTTP/0.9\r\n\r\n", reason: ReasonNonCompliantVersion},
	{name: "GET with Content-Length 0", in: "GET / HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n",
		reason: ReasonGetHeadZeroContentLength, framing: "cl=0"},
	{name: "HEAD with Content-Length 0", in: "HEAD / HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n",
		reason: ReasonGetHeadZeroContentLength, framing: "cl=0"},
	{name: "bare LF line ends", in: "GET / HTTP/1.1\nHost: a\nX: y\n\n",
		reason: ReasonNonCrLfLineTermination, method: "GET"},
	{name: "bare LF empty line only", in: "GET / HTTP/1.1\r\nHost: a\r\n\n", reason: ReasonNonCrLfLineTermination},
	{name: "bare LF before request line", in: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", reason: ReasonNonCrLfLineTermination},

	// Ambiguous.
	{name: "empty header name", in: "POST / HTTP/1.1\r\n" + host + ": x\r\nContent-Length: 1\r\n\r\n",
		reason: ReasonEmptyHeader, framing: "cl=1"},
	{name: "header name starts with colon", in: "POST / HTTP/1.1\r\n" + host + ":SomeHeader:Transfer-Encoding: chunked\r\n\r\n",
		reason: ReasonEmptyHeader},
	{name: "whitespace-only line in the middle", in: "GET / HTTP/1.1\r\n" + host + "  \t \r\nX: y\r\n\r\n",
		reason: ReasonEmptyHeader, also: []Reason{ReasonMultilineHeader}},
	{name: "tab in URI", in: "GET /a\tb HTTP/1.1\r\n" + host + "\r\n", reason: ReasonAmbiguousUri},
	{name: "CTL in URI", in: "GET /a\x01b HTTP/1.1\r\n" + host + "\r\n", reason: ReasonAmbiguousUri},
	{name: "DEL in URI", in: "GET /a\x7fb HTTP/1.1\r\n" + host + "\r\n", reason: ReasonAmbiguousUri},
	{name: "tab before version is HTTP/0.9", in: "GET /a\tHTTP/1.1\r\n" + host + "\r\n",
		reason: ReasonAmbiguousUri, also: []Reason{ReasonNonCompliantVersion}},
	{name: "GET with Content-Length 5", in: "GET / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\n",
		reason: ReasonUndefinedContentLengthSemantics, framing: "cl=5"},
	{name: "HEAD with Content-Length", in: "HEAD / HTTP/1.1\r\n" + host + "Content-Length: 9000\r\n\r\n",
		reason: ReasonUndefinedContentLengthSemantics, framing: "cl=9000"},
	{name: "HTTP/0.9 with Content-Length", in: "POST /\r\nContent-Length: 100\r\n\r\n",
		reason: ReasonUndefinedContentLengthSemantics, framing: "cl=100"},
	{name: "GET with Transfer-Encoding", in: "GET / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n",
		reason: ReasonUndefinedTransferEncodingSemantics, framing: "chunked"},
	{name: "HTTP/1.0 with Transfer-Encoding", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		reason: ReasonUndefinedTransferEncodingSemantics, framing: "chunked", conn: "close"},
	{name: "HTTP/1.0 with TE and CL", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		reason: ReasonUndefinedTransferEncodingSemantics, also: []Reason{ReasonBothTeClPresent}, framing: "chunked"},
	{name: "duplicate identical Content-Length", in: "PUT / HTTP/1.1\r\n" + host + "Content-Length: 1000\r\nContent-Length: 1000\r\n\r\n",
		reason: ReasonDuplicateContentLength, framing: "cl=1000"},
	{name: "CL.TE", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
		reason: ReasonBothTeClPresent, framing: "chunked"},
	{name: "TE.CL", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
		reason: ReasonBothTeClPresent, framing: "chunked"},
	{name: "TE identity and CL", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\nContent-Length: 4\r\n\r\n",
		reason: ReasonBothTeClPresent, framing: "cl=4"},
	{name: "TE space before colon", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "TE tab before colon", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding\t: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "Transfer_Encoding", in: "POST / HTTP/1.1\r\n" + host + "Transfer_Encoding: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "Content_Length", in: "POST / HTTP/1.1\r\n" + host + "Content_Length: 1000\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "SOH before TE name", in: "POST / HTTP/1.1\r\n" + host + "\x01Transfer-Encoding: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "dotless i", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encod\xc4\xb1ng: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "long s", in: "POST / HTTP/1.1\r\n" + host + "Tran\xc5\xbffer-Encoding: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "horizontal bar delimiter", in: "POST / HTTP/1.1\r\n" + host + "Transfer\xe2\x80\x95Encoding: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "Content-Length backspace", in: "POST / HTTP/1.1\r\n" + host + "Content-Length\b: 5\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "TE name then garbage", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding x: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader},
	{name: "TE lookalike with CL", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\nContent-Length: 1000\r\n\r\n",
		reason: ReasonSuspiciousHeader, framing: "cl=1000"},
	{name: "content-lengt is not a lookalike", in: "POST / HTTP/1.1\r\n" + host + "content-lengt: 5\r\n\r\n"},
	{name: "X-Content-Length is not a lookalike", in: "POST / HTTP/1.1\r\n" + host + "X-Content-Length: 5\r\n\r\n"},
	{name: "leading space TE is obs-fold of Host... of X",
		in:     "POST / HTTP/1.1\r\n" + host + "X: y\r\n Transfer-Encoding: chunked\r\n\r\n",
		reason: ReasonSuspiciousHeader, also: []Reason{ReasonMultilineHeader}},
	{name: "obs-fold of X-Foo", in: "GET / HTTP/1.1\r\n" + host + "X-Foo: a\r\n b\r\n\r\n",
		reason: ReasonMultilineHeader},
	{name: "obs-fold of Content-Type is the guardian's exception",
		in: "POST / HTTP/1.1\r\n" + host + "Content-Type: multipart/mixed;\r\n boundary=x\r\nContent-Length: 1\r\n\r\n", framing: "cl=1"},
	{name: "partial header line at EOF", in: "GET / HTTP/1.1\r\n" + host + "X-Foo: b", eof: true,
		reason: ReasonPartialHeaderLine},
	{name: "partial request line at EOF", in: "GET / HTTP/1.0", eof: true, reason: ReasonPartialHeaderLine},
	{name: "header without colon", in: "GET / HTTP/1.1\r\n" + host + "NoColonHere\r\n\r\n",
		reason: ReasonMissingHeaderColon},
	{name: "missing last empty line at EOF", in: "GET / HTTP/1.1\r\n" + host, eof: true,
		reason: ReasonMissingLastEmptyLine},
	{name: "missing URI", in: "GET HTTP/1.1\r\n" + host + "\r\n", reason: ReasonMissingUri},
	{name: "method alone", in: "GET\r\n\r\n", reason: ReasonMissingUri},

	// Severe.
	{name: "NUL in header value", in: "POST / HTTP/1.1\r\n" + host + "X: a\x00Content-Length: 1\r\n\r\n",
		reason: ReasonBadHeader},
	{name: "NUL in header name", in: "POST / HTTP/1.1\r\n" + host + "X\x00: a\r\n\r\n", reason: ReasonBadHeader},
	{name: "NUL starts a line", in: "POST / HTTP/1.1\r\n" + host + "\x00Transfer-Encoding: chunked\r\n\r\n",
		reason: ReasonBadHeader},
	{name: "bare CR in value", in: "POST / HTTP/1.1\r\n" + host + "X: a\rContent-Length: 1000\r\nContent-Length: 5\r\n\r\n",
		reason: ReasonBadHeader, framing: "bad"},
	{name: "CR starts a header name", in: "POST / HTTP/1.1\r\n" + host + "\rTransfer-Encoding: chunked\r\n\r\n",
		reason: ReasonBadHeader, framing: "bad"},
	{name: "CR CR LF", in: "GET / HTTP/1.1\r\n" + host + "X: a\r\r\n\r\n", reason: ReasonBadHeader, framing: "bad"},
	{name: "folded Transfer-Encoding", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\r\n chunked\r\n\r\n",
		reason: ReasonBadHeader, framing: "bad"},
	{name: "folded Content-Length", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\n 0\r\n\r\n",
		reason: ReasonBadHeader, framing: "bad"},
	{name: "folded Host", in: "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", reason: ReasonBadHeader},
	{name: "fold as first header line", in: "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\n" + host + "\r\n",
		reason: ReasonBadHeader},
	{name: "lookalike continuation CL conflicts", in: "POST / HTTP/1.1\r\n" + host + "X: y\r\n Content-Length: 100\r\nContent-Length: 1000\r\n\r\n",
		reason: ReasonMultipleContentLength, framing: "bad"},
	{name: "NUL in URI", in: "GET /a\x00b HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "bare CR in URI", in: "GET /a\rb HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri, framing: "bad"},
	{name: "empty URI", in: "GET  HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "relative URI", in: "GET foo HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "asterisk with GET", in: "GET * HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "authority-form without CONNECT", in: "GET example.com:443 HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "CONNECT with origin-form", in: "CONNECT /x HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "userinfo in absolute-form", in: "GET http://evil@example.com/ HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "ftp absolute-form", in: "GET ftp://example.com/ HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadUri},
	{name: "bad method GE T is parsed as method GE, target T /", in: "GE T / HTTP/1.1\r\n" + host + "\r\n",
		reason: ReasonBadUri, method: "GE", also: []Reason{ReasonSpaceInUri}},
	{name: "HTTP/1.1x", in: "GET / HTTP/1.1x\r\n" + host + "\r\n", reason: ReasonBadVersion},
	{name: "HTTP/11", in: "GET / HTTP/11\r\n" + host + "\r\n", reason: ReasonBadVersion},
	{name: "lowercase version", in: "GET / http/1.1\r\n" + host + "\r\n", reason: ReasonBadVersion},
	{name: "HTTP/0.8", in: "GET / HTTP/0.8\r\n\r\n", reason: ReasonBadVersion},
	{name: "two versions", in: "GET / HTTP/1.1 HTTP/1.1x\r\n" + host + "\r\n", reason: ReasonBadVersion},
	{name: "differing Content-Length", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1000\r\nContent-Length: 100\r\n\r\n",
		reason: ReasonMultipleContentLength, framing: "bad"},
	{name: "CL lookalike and CL differ", in: "POST / HTTP/1.1\r\n" + host + "Content-Length : 100\r\nContent-Length: 1000\r\n\r\n",
		reason: ReasonMultipleContentLength, also: []Reason{ReasonSuspiciousHeader}, framing: "bad"},
	{name: "negative CL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", reason: ReasonBadContentLength, framing: "bad"},
	{name: "hex CL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x10\r\n\r\n", reason: ReasonBadContentLength, framing: "bad"},
	{name: "plus CL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: +10\r\n\r\n", reason: ReasonBadContentLength, framing: "bad"},
	{name: "overflow CL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n",
		reason: ReasonBadContentLength, framing: "bad"},
	{name: "int64 max CL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775807\r\n\r\n",
		framing: "cl=9223372036854775807"},
	{name: "int64 max+1 CL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775808\r\n\r\n",
		reason: ReasonBadContentLength, framing: "bad"},
	{name: "empty CL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: \r\n\r\n", reason: ReasonBadContentLength, framing: "bad"},
	{name: "CL with inner space", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 2\r\n\r\n", reason: ReasonBadContentLength, framing: "bad"},
	{name: "CL list of identical values", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1, 1\r\n\r\n",
		reason: ReasonBadContentLength, framing: "bad"},
	{name: "CL list of different values", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1,2\r\n\r\n",
		reason: ReasonBadContentLength, framing: "bad"},
	{name: "CL with CTL", in: "POST / HTTP/1.1\r\n" + host + "Content-Length: 1000\x11\r\n\r\n",
		reason: ReasonBadContentLength, also: []Reason{ReasonNonCompliantHeader}, framing: "bad"},
	{name: "TE chunked twice", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		reason: ReasonMultipleTransferEncodingChunked, framing: "bad"},
	{name: "TE chunked, chunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked,chunked\r\n\r\n",
		reason: ReasonMultipleTransferEncodingChunked, framing: "bad"},
	{name: "TE lookalike and TE", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding : chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		reason: ReasonMultipleTransferEncodingChunked, framing: "bad"},
	{name: "xchunked", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: xchunked\r\n\r\n",
		reason: ReasonBadTransferEncoding, framing: "bad"},
	{name: "chunked, identity", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n",
		reason: ReasonBadTransferEncoding, framing: "bad"},
	{name: "chunked with parameter", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;foo=bar\r\n\r\n",
		reason: ReasonBadTransferEncoding, framing: "bad"},
	{name: "chunked then SOH", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\x01\r\n\r\n",
		reason: ReasonBadTransferEncoding, framing: "bad"},
	{name: "empty TE", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \r\n\r\n", reason: ReasonBadTransferEncoding, framing: "bad"},
	{name: "gzip is unsupported", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n",
		reason: ReasonBadTransferEncoding, framing: "bad"},
	{name: "gzip, chunked is unsupported", in: "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n",
		reason: ReasonBadTransferEncoding, framing: "bad"},
	{name: "lookalike with bad CL", in: "POST / HTTP/1.1\r\n" + host + "Content_Length: abc\r\n\r\n",
		reason: ReasonBadContentLength, also: []Reason{ReasonSuspiciousHeader}, framing: "bad"},
	{name: "tab in method", in: "GE\tT / HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadMethod},
	{name: "empty method", in: " / HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadMethod},
	{name: "SOH in method", in: "bad_method\x01 / HTTP/1.1\r\n" + host + "\r\n", reason: ReasonBadMethod},
	{name: "bad header does not shadow bad CL, first severe wins", in: "POST / HTTP/1.1\r\n" + host + "X: \x00\r\nContent-Length: x\r\n\r\n",
		reason: ReasonBadHeader, also: []Reason{ReasonBadContentLength}, framing: "bad"},

	// Errors the load balancer answers itself.
	{name: "HTTP/2.0", in: "GET / HTTP/2.0\r\n" + host + "\r\n", err: 505},
	{name: "HTTP/2 preface", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", err: 505},
	{name: "HTTP/3", in: "GET / HTTP/3\r\n", err: 505},
	{name: "HTTP/2.0 before the head is complete", in: "GET / HTTP/2.0\r\n", err: 505},
	{name: "missing Host in HTTP/1.1", in: "GET / HTTP/1.1\r\n\r\n", err: 400},
	{name: "two Host headers", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", err: 400},
	{name: "two Host headers in HTTP/1.0", in: "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", err: 400},
	{name: "request line over 16 KiB", in: "GET /" + strings.Repeat("a", 16<<10) + " HTTP/1.1\r\n" + host + "\r\n", err: 414},
	{name: "incomplete request line over 16 KiB", in: "GET /" + strings.Repeat("a", 16<<10), err: 414},
	{name: "header line over 16 KiB", in: "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", err: 400},
	{name: "incomplete header line over 16 KiB", in: "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", 16<<10), err: 400},
	{name: "headers over 64 KiB", in: "GET / HTTP/1.1\r\n" + host + strings.Repeat("X-Filler: "+strings.Repeat("a", 1000)+"\r\n", 66) + "\r\n", err: 400},
	{name: "incomplete headers over 64 KiB", in: "GET / HTTP/1.1\r\n" + host + strings.Repeat("X-Filler: "+strings.Repeat("a", 1000)+"\r\n", 66), err: 400},
	{name: "incomplete", in: "GET / HTTP/1.1\r\n" + host, err: -1},
	{name: "empty", in: "", err: -1},
	{name: "empty lines only", in: "\r\n\r\n\r", err: -1},
}

func TestParseRequest(t *testing.T) {
	for _, tc := range reqCases {
		t.Run(tc.name, func(t *testing.T) {
			checkRequest(t, tc)
		})
	}
}

func checkRequest(t *testing.T, tc reqCase) {
	t.Helper()
	var r Request
	parse := ParseRequest
	if tc.eof {
		parse = ParseRequestAtEOF
	}
	n, err := parse([]byte(tc.in), &r, Limits{})
	switch tc.err {
	case -1:
		if !errors.Is(err, ErrIncomplete) {
			t.Fatalf("err = %v, want ErrIncomplete", err)
		}
		return
	case 0:
		if err != nil {
			t.Fatalf("err = %v", err)
		}
	default:
		var e *Error
		if !errors.As(err, &e) || e.Status != tc.err {
			t.Fatalf("err = %v, want status %d", err, tc.err)
		}
		return
	}
	if want := headLen(tc.in); !tc.eof && n != want {
		t.Errorf("n = %d, want %d", n, want)
	}
	if r.Reason != tc.reason || r.Class != tc.reason.Class() {
		t.Errorf("classified %v/%v (reasons %s), want %v/%v", r.Class, r.Reason, reasonList(r.Reasons), tc.reason.Class(), tc.reason)
	}
	for _, a := range tc.also {
		if !r.Has(a) {
			t.Errorf("reasons %s lack %v", reasonList(r.Reasons), a)
		}
	}
	if tc.method != "" && string(r.Method) != tc.method {
		t.Errorf("method = %q, want %q", r.Method, tc.method)
	}
	if tc.target != "" && string(r.Target) != tc.target {
		t.Errorf("target = %q, want %q", r.Target, tc.target)
	}
	switch {
	case tc.framing == "bad":
		if r.FramingOK {
			t.Errorf("FramingOK = true, want false")
		}
	default:
		cl, chunked := int64(-1), false
		switch {
		case tc.framing == "chunked":
			chunked = true
		case strings.HasPrefix(tc.framing, "cl="):
			cl, _ = strconv.ParseInt(tc.framing[3:], 10, 64)
		}
		if !r.FramingOK || r.ContentLength != cl || r.Chunked != chunked {
			t.Errorf("framing: ok=%v cl=%d chunked=%v, want %q", r.FramingOK, r.ContentLength, r.Chunked, tc.framing)
		}
	}
	switch tc.conn {
	case "keep", "upgrade", "close":
		if r.KeepAlive != (tc.conn != "close") || r.Upgrade != (tc.conn == "upgrade") {
			t.Errorf("KeepAlive=%v Upgrade=%v, want %s", r.KeepAlive, r.Upgrade, tc.conn)
		}
	}
}

// headLen is the length of a head through its first empty line.
func headLen(s string) int {
	lead := len(s) - len(strings.TrimLeft(s, "\r\n"))
	s = s[lead:]
	best := -1
	for _, sep := range []string{"\r\n\r\n", "\n\n", "\r\n\n", "\n\r\n"} {
		if i := strings.Index(s, sep); i >= 0 && (best < 0 || i+len(sep) < best) {
			best = i + len(sep)
		}
	}
	if best < 0 {
		return lead + len(s)
	}
	return lead + best
}

func reasonList(mask uint64) string {
	var names []string
	for i := Reason(0); i < numReasons; i++ {
		if mask&(1<<i) != 0 {
			names = append(names, i.String())
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}

// TestEveryReasonCovered makes sure the table exercises every reason.
func TestEveryReasonCovered(t *testing.T) {
	seen := map[Reason]bool{ReasonCompliant: true}
	for _, tc := range reqCases {
		if tc.err == 0 {
			seen[tc.reason] = true
		}
	}
	for i := Reason(0); i < numReasons; i++ {
		if !seen[i] {
			t.Errorf("no table case reports %v", i)
		}
	}
}

func TestParseRequestFields(t *testing.T) {
	in := "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost:  example.com \t\r\nX-Multi: a\r\n  b \r\nUser-Agent: t\r\nExpect: 100-Continue\r\n\r\nBODY"
	var r Request
	n, err := ParseRequest([]byte(in), &r, Limits{})
	if err != nil || n != len(in)-4 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	for _, c := range []struct{ got, want string }{
		{string(r.Method), "GET"}, {string(r.Target), "/a/b?x=1&y=%20"}, {string(r.Path), "/a/b"},
		{string(r.Query), "x=1&y=%20"}, {string(r.Proto), "HTTP/1.1"}, {string(r.Host), "example.com"},
		{string(r.Headers[1].Value), "a\r\n  b"}, {string(r.Headers[2].Name), "User-Agent"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if len(r.Headers) != 4 || !r.Folded || !r.Expect100 || r.Reason != ReasonMultilineHeader {
		t.Errorf("headers=%d folded=%v expect=%v reason=%v", len(r.Headers), r.Folded, r.Expect100, r.Reason)
	}

	// absolute-form: the target's authority overrides Host.
	in = "GET https://Target.example:8443?q HTTP/1.1\r\nHost: other\r\n\r\n"
	if _, err := ParseRequest([]byte(in), &r, Limits{}); err != nil {
		t.Fatal(err)
	}
	if string(r.Host) != "Target.example:8443" || len(r.Path) != 0 || string(r.Query) != "q" || r.Class != Compliant {
		t.Errorf("absolute-form: host=%q path=%q query=%q %v", r.Host, r.Path, r.Query, r.Reason)
	}

	// The slices cannot grow into the buffer.
	if cap(r.Headers[0].Value) != len(r.Headers[0].Value) || cap(r.Method) != len(r.Method) {
		t.Errorf("slices have spare capacity into the caller's buffer")
	}
}

func TestTEUnsupported(t *testing.T) {
	for _, c := range []struct {
		te   string
		want bool
	}{
		{"gzip", true}, {"gzip, chunked", true}, {"Deflate,chunked", true}, {"x-gzip", true},
		{"xchunked", false}, {"gzip, \x01", false}, {"chunked;a=b", false}, {"chunked", false}, {"brotli", false},
	} {
		var r Request
		in := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + c.te + "\r\n\r\n"
		if _, err := ParseRequest([]byte(in), &r, Limits{}); err != nil {
			t.Fatal(err)
		}
		if r.TEUnsupported != c.want {
			t.Errorf("TE %q: TEUnsupported = %v, want %v", c.te, r.TEUnsupported, c.want)
		}
	}
}

// TestIncompleteEveryPrefix: every proper prefix of a valid request is
// ErrIncomplete, and the whole request parses with the same result whatever
// follows it.
func TestIncompleteEveryPrefix(t *testing.T) {
	for _, in := range []string{
		"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n",
		"\r\nPOST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-Fold: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET /\r\n\r\n",
	} {
		var r Request
		for i := 0; i < len(in); i++ {
			if n, err := ParseRequest([]byte(in[:i]), &r, Limits{}); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("prefix %q: n=%d err=%v, want ErrIncomplete", in[:i], n, err)
			}
		}
		n, err := ParseRequest([]byte(in+"GET / HTTP/1.1\r\n"), &r, Limits{})
		if err != nil || n != len(in) {
			t.Fatalf("%q: n=%d err=%v", in, n, err)
		}
	}
}

func TestLimits(t *testing.T) {
	lim := Limits{RequestLine: 20, HeaderLine: 10, Headers: 30}
	for _, c := range []struct {
		in   string
		want int // status, -1 incomplete, 0 ok
	}{
		{"GET /012345 HTTP/1.1\r\nHost: a\r\n\r\n", 0}, // a 20-byte request line
		{"GET /0123456 HTTP/1.1\r\n", 414},
		{"GET /012345 HTTP/1.1", -1},
		{"GET /012345 HTTP/1.1\r", -1},
		{"GET /012345 HTTP/1.1x", 414},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1234567\r\n\r\n", 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 12345678\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1234567\r", -1},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 12345678", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", 400},
		{"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 1\r\nC: 1\r\n\r\n", 0},
	} {
		var r Request
		_, err := ParseRequest([]byte(c.in), &r, lim)
		got := 0
		var e *Error
		switch {
		case errors.Is(err, ErrIncomplete):
			got = -1
		case errors.As(err, &e):
			got = e.Status
		case err != nil:
			got = -2
		}
		if got != c.want {
			t.Errorf("%q: got %d (%v), want %d", c.in, got, err, c.want)
		}
	}
}

func TestReasonNamesAndClasses(t *testing.T) {
	want := map[Class][]string{
		Compliant:  {"Compliant"},
		Acceptable: {"NonCompliantHeader", "SpaceInUri", "NonCompliantVersion", "GetHeadZeroContentLength", "NonCrLfLineTermination"},
		Ambiguous: {"EmptyHeader", "AmbiguousUri", "UndefinedContentLengthSemantics", "UndefinedTransferEncodingSemantics",
			"DuplicateContentLength", "BothTeClPresent", "SuspiciousHeader", "MultilineHeader", "PartialHeaderLine",
			"MissingHeaderColon", "MissingLastEmptyLine", "MissingUri"},
		Severe: {"BadHeader", "BadUri", "BadVersion", "MultipleContentLength", "BadContentLength",
			"MultipleTransferEncodingChunked", "BadTransferEncoding", "BadMethod"},
	}
	i := Reason(0)
	for c := Compliant; c <= Severe; c++ {
		for _, name := range want[c] {
			if i.String() != name || i.Class() != c {
				t.Errorf("Reason(%d) = %v/%v, want %s/%v", i, i, i.Class(), name, c)
			}
			i++
		}
	}
	if i != numReasons {
		t.Errorf("%d reasons, want %d", numReasons, i)
	}
	if Severe.String() != "Severe" || Ambiguous.String() != "Ambiguous" || Class(9).String() != "Class(9)" {
		t.Errorf("class names")
	}
}

var benchRequest = []byte("GET /products/42/reviews?page=2&sort=newest HTTP/1.1\r\n" +
	"Host: shop.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Referer: https://shop.example.com/products/42\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=3f2a9c1b7d; theme=dark; AWSALB=abcdef0123456789\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"Sec-Fetch-Dest: document\r\n" +
	"Sec-Fetch-Mode: navigate\r\n" +
	"Priority: u=0, i\r\n" +
	"\r\n")

func BenchmarkParseRequest(b *testing.B) {
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for b.Loop() {
		if _, err := ParseRequest(benchRequest, &r, Limits{}); err != nil || r.Class != Compliant {
			b.Fatal(err, r.Reason)
		}
	}
}

func TestParseRequestAllocs(t *testing.T) {
	var r Request
	ParseRequest(benchRequest, &r, Limits{})
	allocs := testing.AllocsPerRun(100, func() {
		ParseRequest(benchRequest, &r, Limits{})
		ParseRequest(benchRequest[:100], &r, Limits{})
	})
	if allocs != 0 {
		t.Errorf("ParseRequest allocates %v times per call", allocs)
	}
}
