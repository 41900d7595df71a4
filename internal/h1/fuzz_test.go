package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// stricter counts inputs net/http accepts and sluice refuses (Severe or an
// *Error). That is allowed; the count is for curiosity (go test -v).
var stricter atomic.Int64

// FuzzParseVsNetHTTP compares ParseRequest with net/http's ReadRequest.
//
// When both accept a head (sluice: no error and not Severe), they must agree
// on the method, the request-target, Host, every header field value, the
// body framing and keep-alive. When sluice accepts and net/http refuses,
// the request must fall under acceptedOnlyBySluice, which says why
// forwarding it is safe. When net/http accepts and sluice refuses, sluice is
// stricter: that is counted, not failed.
func FuzzParseVsNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n",
		"GET /a b HTTP/1.1\r\nHost: a\r\nX: \x80\r\n\r\n",
		"GET http://h:80/p?q HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Cleanup(func() {
		if n := stricter.Load(); n > 0 {
			f.Logf("net/http accepted %d inputs sluice refused", n)
		}
	})
	f.Fuzz(differential)
}

// differential runs one input through both parsers and checks they agree.
func differential(t *testing.T, in []byte) {
	t.Helper()
	var r Request
	n, err := ParseRequest(in, &r, Limits{})
	checkInvariants(t, in, &r, n, err)
	ours := err == nil && r.Class != Severe

	hreq, herr := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
	theirs := herr == nil

	// net/http joins obs-fold lines into one value; sluice keeps the line
	// ends in the value and classifies it MultilineHeader (or BadHeader):
	// the header values are not comparable.
	head := in
	if err == nil {
		head = in[:n]
	}
	if bytes.Contains(head, []byte("\n ")) || bytes.Contains(head, []byte("\n\t")) {
		return
	}

	switch {
	case ours && theirs:
		compareWithNetHTTP(t, in, &r, hreq)
	case ours:
		if why := acceptedOnlyBySluice(in, &r); why == "" {
			t.Fatalf("sluice accepts (%v/%v %s) what net/http refuses (%v):\n%q",
				r.Class, r.Reason, reasonList(r.Reasons), herr, in)
		}
	case theirs:
		stricter.Add(1)
	}
}

// TestDifferentialCombinations runs the differential check over request
// lines and header sets built from the shapes smuggling attempts use, which
// random mutation reaches rarely.
func TestDifferentialCombinations(t *testing.T) {
	methods := []string{"GET", "POST", "HEAD", "get", "OPTIONS", "CONNECT", "PRI"}
	targets := []string{"/", "/a?b=c", "/a b", "/a\tb", "*", "http://h.example/p", "http://h:8080", "HTTPS://H.EX:443?q",
		"h.example:443", "[::1]:80", "", "/%zz", "/a\x01", "/caf\xc3\xa9", "http://u@h/", "http://h:x/", "/a#f"}
	versions := []string{"HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/0.9", "", "HTTP/1.1 ", "http/1.1", "HTTP/2.0", "HTTP/1.10"}
	hosts := []string{"", "Host: a\r\n", "Host:  a.example:80 \t\r\n", "Host: a\r\nHost: a\r\n", "host: [::1]\r\n"}
	framing := []string{"", "Content-Length: 5\r\n", "Content-Length: 05\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n",
		"Content-Length: 5\r\nContent-Length: 05\r\n", "Content-Length: 5, 5\r\n", "Content-Length: 0\r\n",
		"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
		"Transfer-Encoding: identity\r\n", "Transfer-Encoding: identity\r\nContent-Length: 5\r\n",
		"Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: Chunked \r\n", "Transfer-Encoding : chunked\r\n",
		"Transfer_Encoding: chunked\r\n", "Content-Length : 5\r\n", "Content_Length: 7\r\nContent-Length: 7\r\n",
		"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n"}
	misc := []string{"", "Connection: close\r\n", "Connection: keep-alive\r\n", "Connection: Upgrade\r\nUpgrade: websocket\r\n",
		"X Y: z\r\n", "X: \x80\xff\r\n", "X: a\x01\r\n", "Pragma: no-cache\r\n", "Trailer: Content-Length\r\n",
		": empty\r\n", "NoColon\r\n", "Expect: 100-continue\r\n", "X:\r\n", "X: a\r\nx: b\r\n"}
	run := func(in string) {
		for _, eol := range []string{"\r\n", "\n"} {
			differential(t, []byte(strings.ReplaceAll(in, "\r\n", eol)))
		}
	}
	for _, m := range methods {
		for _, tg := range targets {
			for _, v := range versions {
				line := m + " " + tg
				if v != "" {
					line += " " + v
				}
				run(line + "\r\nHost: a\r\n\r\n")
				run("\r\n" + line + "\r\nContent-Length: 1\r\n\r\nx")
			}
		}
	}
	for _, line := range []string{"POST / HTTP/1.1", "GET / HTTP/1.0", "GET http://h/ HTTP/1.1", "HEAD /x HTTP/1.2"} {
		for _, h := range hosts {
			for _, fr := range framing {
				for _, mi := range misc {
					run(line + "\r\n" + h + fr + mi + "\r\n")
					run(line + "\r\n" + mi + fr + h + "\r\n")
				}
			}
		}
	}
	t.Logf("net/http accepted %d inputs sluice refused", stricter.Load())
}

// checkInvariants holds for every input.
func checkInvariants(t *testing.T, in []byte, r *Request, n int, err error) {
	t.Helper()
	var e *Error
	switch {
	case err == nil:
		if n <= 0 || n > len(in) {
			t.Fatalf("n = %d for %d bytes", n, len(in))
		}
		if c, reason := verdict(r.Reasons); c != r.Class || reason != r.Reason || reason.Class() != c {
			t.Fatalf("verdict %v/%v does not match reasons %s", r.Class, r.Reason, reasonList(r.Reasons))
		}
		if !r.FramingOK && r.Class != Severe {
			t.Fatalf("FramingOK false for a %v request", r.Class)
		}
		if r.Chunked && r.ContentLength != -1 {
			t.Fatalf("chunked with ContentLength %d", r.ContentLength)
		}
		// The request is parsed the same when more bytes follow.
		var r2 Request
		more := append(slices.Clip(in[:n]), "GET / HTTP/1.1\r\n"...)
		if n2, err2 := ParseRequest(more, &r2, Limits{}); n2 != n || err2 != nil || r2.Reasons != r.Reasons {
			t.Fatalf("with more bytes: n=%d err=%v reasons %s, was n=%d reasons %s",
				n2, err2, reasonList(r2.Reasons), n, reasonList(r.Reasons))
		}
	case errors.Is(err, ErrIncomplete):
		if n != 0 {
			t.Fatalf("n = %d with ErrIncomplete", n)
		}
	case errors.As(err, &e):
		if e.Status != 400 && e.Status != 414 && e.Status != 505 {
			t.Fatalf("status %d", e.Status)
		}
	default:
		t.Fatalf("unexpected error %v", err)
	}
}

// compareWithNetHTTP checks that sluice and net/http read a head both accept
// the same way.
func compareWithNetHTTP(t *testing.T, in []byte, r *Request, h *http.Request) {
	t.Helper()
	fail := func(what string, ours, theirs any) {
		t.Helper()
		t.Fatalf("%s: sluice %q, net/http %q (%v/%v %s)\n%q", what, ours, theirs, r.Class, r.Reason, reasonList(r.Reasons), in)
	}
	if string(r.Method) != h.Method {
		fail("method", r.Method, h.Method)
	}
	if string(r.Target) != h.RequestURI {
		fail("request-target", r.Target, h.RequestURI)
	}
	if string(r.Host) != h.Host {
		fail("host", r.Host, h.Host)
	}

	// Header fields as (canonical name, value) pairs. net/http moves Host
	// to Request.Host, removes Transfer-Encoding (and Trailer from a
	// chunked request), collapses identical Content-Lengths, and adds
	// Cache-Control: no-cache for Pragma: no-cache: those are compared
	// through the framing and Host instead.
	skip := func(name string) bool {
		return name == "Host" || name == "Content-Length" || name == "Transfer-Encoding" ||
			name == "Trailer" && r.Chunked
	}
	var ours, theirs []string
	for _, hd := range r.Headers {
		name := http.CanonicalHeaderKey(string(hd.Name))
		if !skip(name) {
			ours = append(ours, name+": "+string(hd.Value))
		}
	}
	oursCC := slices.ContainsFunc(ours, func(s string) bool { return strings.HasPrefix(s, "Cache-Control: ") })
	for name, vs := range h.Header {
		if skip(name) || name == "Cache-Control" && !oursCC {
			continue
		}
		for _, v := range vs {
			theirs = append(theirs, name+": "+v)
		}
	}
	slices.Sort(ours)
	slices.Sort(theirs)
	if !slices.Equal(ours, theirs) {
		fail("headers", ours, theirs)
	}

	// Framing. net/http ignores Transfer-Encoding before HTTP/1.1 (Go issue
	// 12785) and frames by Content-Length; sluice frames such a request as
	// chunked when chunked is the final coding. It is Ambiguous
	// (UndefinedTransferEncodingSemantics): the engine closes both
	// connections after it in defensive mode, so a target reading it the
	// net/http way cannot carry the rest into another request.
	theirChunked := len(h.TransferEncoding) > 0 && h.TransferEncoding[0] == "chunked"
	if !(r.Has(ReasonUndefinedTransferEncodingSemantics) && !(r.Major == 1 && r.Minor == 1)) {
		if r.Chunked != theirChunked {
			fail("chunked", r.Chunked, theirChunked)
		}
		ourCL := max(r.ContentLength, 0)
		if !r.Chunked && ourCL != h.ContentLength {
			fail("content-length", ourCL, h.ContentLength)
		}
	}
	if r.KeepAlive == h.Close {
		fail("keep-alive", r.KeepAlive, !h.Close)
	}
}

// acceptedOnlyBySluice returns why a request sluice accepts (it is not
// Severe) and net/http refuses is safe to forward, or "" if it is not one of
// the known cases. Each case names the shape net/http refuses, checked on
// the request itself (not merely on its reasons, which may have other
// causes). Every case leaves the body framing as sluice reads it
// unambiguous; Ambiguous ones in addition close both connections after the
// exchange (defensive mode), so bytes a target reads differently cannot
// become another client's request.
func acceptedOnlyBySluice(in []byte, r *Request) string {
	for _, c := range []struct {
		why string
		is  bool
	}{
		// SpaceInUri: net/http splits the request line at its first two
		// spaces; ALB takes the target up to the last one and forwards it
		// as is. Only the target's bytes are at stake, not the framing.
		{"SP in the target", r.Has(ReasonSpaceInUri)},
		// NonCompliantVersion: an HTTP/0.9-style line or "HTTP/1.1 "
		// (net/http wants exactly HTTP/x.y). The version does not change
		// the framing, and the engine speaks HTTP/1.1 to the target.
		{"no HTTP-version, or whitespace after it", r.Proto == nil || requestLineEndsInOWS(in)},
		// NonCompliantHeader, SuspiciousHeader or EmptyHeader: a name with
		// a byte net/http refuses. Such a field is never a framing header
		// to sluice (lookalikes are only classified); the engine can drop
		// it (drop_invalid_header_fields).
		{"header name net/http refuses", slices.ContainsFunc(r.Headers, func(h Header) bool {
			return len(h.Name) == 0 || slices.ContainsFunc(h.Name, func(c byte) bool { return !isTchar(c) && c != ' ' })
		})},
		// NonCompliantHeader: CTL bytes in a value (framing headers with
		// them are Severe, so this is another field).
		{"CTL in a header value", slices.ContainsFunc(r.Headers, func(h Header) bool {
			return slices.ContainsFunc(h.Value, func(c byte) bool { return c < ' ' && c != '\t' || c == 0x7f })
		})},
		// AmbiguousUri: CTL bytes in the target, which net/url refuses.
		{"CTL in the target", r.Has(ReasonAmbiguousUri)},
		// MissingHeaderColon: the line is not a field and is not forwarded.
		{"line without a colon", r.Has(ReasonMissingHeaderColon)},
		// MissingUri: "GET HTTP/1.1"; the engine has no target to route.
		{"no target", r.Has(ReasonMissingUri)},
		// DuplicateContentLength: "5" and "05" are one length to sluice and
		// two strings to net/http.
		{"Content-Length values equal only as numbers", differentCLStrings(r)},
		// RFC 9112 §2.2: a server SHOULD ignore empty lines before the
		// request line; net/http does not. Nothing of the request changes.
		{"empty lines before the request line", len(in) > 0 && (in[0] == '\r' || in[0] == '\n')},
		// "Transfer-Encoding: identity[, chunked]": identity is no coding;
		// sluice frames by the final coding (chunked, or Content-Length,
		// with BothTeClPresent), net/http supports exactly "chunked". The
		// engine rewrites Transfer-Encoding when it forwards.
		{"identity transfer coding", hasIdentityCoding(r)},
		// "/%zz": net/url refuses to decode it; sluice routes on the raw
		// path and forwards the target unchanged, as ALB does.
		{"invalid percent-encoding in the target", badPercentEncoding(r.Target)},
		// "Trailer: Content-Length" on a chunked request: net/http refuses
		// to let a trailer name a framing field; sluice does not merge
		// trailers into the head, so they cannot change the framing.
		{"Trailer declares a framing field", r.Chunked && hasFramingTrailerDecl(r)},
	} {
		if c.is {
			return c.why
		}
	}
	return ""
}

func requestLineEndsInOWS(in []byte) bool {
	line := bytes.TrimLeft(in, "\r\n")
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = bytes.TrimSuffix(line[:i], []byte("\r"))
	}
	return len(line) > 0 && isOWS(line[len(line)-1])
}

func differentCLStrings(r *Request) bool {
	var first []byte
	for _, h := range r.Headers {
		if EqualFold(h.Name, "Content-Length") {
			if first == nil {
				first = h.Value
			} else if !bytes.Equal(first, h.Value) {
				return true
			}
		}
	}
	return false
}

func hasIdentityCoding(r *Request) bool {
	for _, h := range r.Headers {
		if EqualFold(h.Name, "Transfer-Encoding") {
			for tok := range Tokens(h.Value) {
				if EqualFold(tok, "identity") {
					return true
				}
			}
		}
	}
	return false
}

func badPercentEncoding(t []byte) bool {
	for i, c := range t {
		if c == '%' {
			if i+2 >= len(t) || !unhexOK(t[i+1]) || !unhexOK(t[i+2]) {
				return true
			}
		}
	}
	return false
}

func hasFramingTrailerDecl(r *Request) bool {
	for _, h := range r.Headers {
		if EqualFold(h.Name, "Trailer") {
			for tok := range Tokens(h.Value) {
				if EqualFold(tok, "Content-Length") || EqualFold(tok, "Transfer-Encoding") || EqualFold(tok, "Trailer") {
					return true
				}
			}
		}
	}
	return false
}

// FuzzChunked checks that the decoder never panics on any input and that it
// decodes what AppendChunkHeader encodes.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\nT: v\r\n\r\n"), []byte("hello world"), uint8(3))
	f.Add([]byte("5;a=\"b\"\r\nhello\r\n0\r\n\r\n"), []byte(""), uint8(1))
	f.Add([]byte("ffffffffffffffff\r\n"), []byte("x"), uint8(0))
	f.Fuzz(func(t *testing.T, raw, data []byte, split uint8) {
		// Any input: no panic, and the data never exceeds the input.
		cr := NewChunkedReader(bufio.NewReader(bytes.NewReader(raw)))
		got, err := io.ReadAll(cr)
		if err == nil && len(got) > len(raw) {
			t.Fatalf("decoded %d bytes from %d", len(got), len(raw))
		}

		// Round trip, in chunks of at most split+1 bytes.
		var enc []byte
		for rest := data; len(rest) > 0; {
			k := min(len(rest), int(split)+1)
			enc = AppendChunkHeader(enc, k)
			enc = append(append(enc, rest[:k]...), "\r\n"...)
			rest = rest[k:]
		}
		enc = append(enc, LastChunk...)
		cr.Reset(bytes.NewReader(enc))
		got, err = io.ReadAll(cr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %q, %v; want %q", got, err, data)
		}
	})
}
