package h1

import (
	"errors"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     string
		bad    bool // an *Error (502) is expected
		status int
		reason string
		kind   BodyKind // for a GET
		n      int64
		keep   bool
	}{
		{name: "200 OK", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", status: 200, reason: "OK", kind: BodyLength, n: 5, keep: true},
		{name: "no reason phrase", in: "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", status: 200, kind: BodyLength, keep: true},
		{name: "empty reason phrase", in: "HTTP/1.1 204 \r\n\r\n", status: 204, kind: BodyNone, keep: true},
		{name: "reason with spaces and obs-text", in: "HTTP/1.1 404 Not \xe9 Found\r\n\r\n", status: 404, reason: "Not \xe9 Found",
			kind: BodyUntilClose, n: -1, keep: true},
		{name: "HTTP/1.0 close-delimited", in: "HTTP/1.0 200 OK\r\n\r\n", status: 200, reason: "OK", kind: BodyUntilClose, n: -1},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
			status: 200, reason: "OK", kind: BodyLength, n: 1, keep: true},
		{name: "Connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
			status: 200, reason: "OK", kind: BodyLength, n: 1},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", status: 200, reason: "OK",
			kind: BodyChunked, n: -1, keep: true},
		{name: "gzip, chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 200, reason: "OK",
			kind: BodyChunked, n: -1, keep: true},
		// RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; the
		// engine forwards the body chunked and drops the Content-Length.
		{name: "TE and CL: chunked wins", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
			status: 200, reason: "OK", kind: BodyChunked, n: -1, keep: true},
		{name: "duplicate identical CL", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
			status: 200, reason: "OK", kind: BodyLength, n: 3, keep: true},
		{name: "bare LF", in: "HTTP/1.1 200 OK\nContent-Length: 2\n\n", status: 200, reason: "OK", kind: BodyLength, n: 2, keep: true},
		{name: "1xx", in: "HTTP/1.1 100 Continue\r\n\r\n", status: 100, reason: "Continue", kind: BodyNone, keep: true},
		{name: "304 with CL", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", status: 304,
			reason: "Not Modified", kind: BodyNone, keep: true},

		{name: "two-digit status", in: "HTTP/1.1 20 OK\r\n\r\n", bad: true},
		{name: "four-digit status", in: "HTTP/1.1 2000 OK\r\n\r\n", bad: true},
		{name: "status 600", in: "HTTP/1.1 600 X\r\n\r\n", bad: true},
		{name: "status 099", in: "HTTP/1.1 099 X\r\n\r\n", bad: true},
		{name: "letters in status", in: "HTTP/1.1 2x0 OK\r\n\r\n", bad: true},
		{name: "two spaces before status", in: "HTTP/1.1  200 OK\r\n\r\n", bad: true},
		{name: "tab before reason", in: "HTTP/1.1 200\tOK\r\n\r\n", bad: true},
		{name: "CTL in reason", in: "HTTP/1.1 200 O\x01K\r\n\r\n", bad: true},
		{name: "HTTP/2", in: "HTTP/2 200 OK\r\n\r\n", bad: true},
		{name: "HTTP/1.2", in: "HTTP/1.2 200 OK\r\n\r\n", bad: true},
		{name: "lowercase version", in: "http/1.1 200 OK\r\n\r\n", bad: true},
		{name: "garbage", in: "<html>\r\n\r\n", bad: true},
		{name: "different CL", in: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", bad: true},
		{name: "CL list", in: "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", bad: true},
		{name: "negative CL", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", bad: true},
		{name: "TE gzip only", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", bad: true},
		{name: "TE chunked twice", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", bad: true},
		{name: "TE chunked, gzip", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", bad: true},
		{name: "TE garbage", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=\"\"\r\n\r\n", bad: true},
		{name: "TE in HTTP/1.0", in: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", bad: true},
		{name: "obs-fold", in: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", bad: true},
		{name: "space before colon", in: "HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n", bad: true},
		{name: "bare CR", in: "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", bad: true},
		{name: "NUL in value", in: "HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n", bad: true},
		{name: "missing colon", in: "HTTP/1.1 200 OK\r\nX\r\n\r\n", bad: true},
		{name: "head over 32 KiB", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 32<<10) + "\r\n\r\n", bad: true},
		{name: "incomplete head over 32 KiB", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 32<<10), bad: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r Response
			n, err := ParseResponse([]byte(c.in), &r, 0)
			if c.bad {
				var e *Error
				if !errors.As(err, &e) || e.Status != 502 {
					t.Fatalf("err = %v, want a 502 *Error", err)
				}
				return
			}
			if err != nil || n != headLen(c.in) {
				t.Fatalf("n=%d err=%v", n, err)
			}
			kind, bn := r.BodyKind([]byte("GET"))
			if r.Status != c.status || string(r.Reason) != c.reason || kind != c.kind || bn != c.n || r.KeepAlive != c.keep {
				t.Errorf("got %d %q kind=%d n=%d keep=%v", r.Status, r.Reason, kind, bn, r.KeepAlive)
			}
		})
	}
}

func TestBodyKind(t *testing.T) {
	for _, c := range []struct {
		in, method string
		kind       BodyKind
		n          int64
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", "HEAD", BodyNone, 0},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", BodyNone, 0},
		{"HTTP/1.1 204 No Content\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 304 Not Modified\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 103 Early Hints\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", BodyNone, 0},
		{"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n", "CONNECT", BodyLength, 3},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "POST", BodyLength, 0},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", BodyChunked, -1},
		{"HTTP/1.1 200 OK\r\n\r\n", "GET", BodyUntilClose, -1},
	} {
		var r Response
		if _, err := ParseResponse([]byte(c.in), &r, 0); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if kind, n := r.BodyKind([]byte(c.method)); kind != c.kind || n != c.n {
			t.Errorf("%s %q: %d %d, want %d %d", c.method, c.in, kind, n, c.kind, c.n)
		}
	}
	var r Response
	ParseResponse([]byte("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n"), &r, 0)
	if r.ContentLength != 42 {
		t.Errorf("HEAD response: ContentLength %d, want 42 kept for the engine", r.ContentLength)
	}
	ParseResponse([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), &r, 0)
	if !r.Upgrade {
		t.Errorf("101: Upgrade false")
	}
}

func TestParseResponseIncomplete(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"
	var r Response
	for i := 0; i < len(in); i++ {
		if _, err := ParseResponse([]byte(in[:i]), &r, 0); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix %q: %v", in[:i], err)
		}
	}
	if n, err := ParseResponse([]byte(in+"ok"), &r, len(in)); err != nil || n != len(in) {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if _, err := ParseResponse([]byte(in), &r, len(in)-1); err == nil {
		t.Fatalf("head one byte over maxHead accepted")
	}
	if _, err := ParseResponse([]byte(in[:20]), &r, 19); err == nil || errors.Is(err, ErrIncomplete) {
		t.Fatalf("incomplete head over maxHead: %v", err)
	}
	buf := []byte(in)
	if a := testing.AllocsPerRun(100, func() { ParseResponse(buf, &r, 0) }); a != 0 {
		t.Errorf("ParseResponse allocates %v times", a)
	}
}

func TestTokens(t *testing.T) {
	var got []string
	for tok := range Tokens([]byte(" keep-alive ,, Upgrade,\tclose\t,")) {
		got = append(got, string(tok))
	}
	if strings.Join(got, "|") != "keep-alive|Upgrade|close" {
		t.Errorf("Tokens = %q", got)
	}
	if !HasToken([]byte("a, UPGRADE"), "upgrade") || HasToken([]byte("upgrades"), "upgrade") {
		t.Errorf("HasToken")
	}
	if !EqualFold([]byte("Content-LENGTH"), "content-length") || EqualFold([]byte("Content-Lengtx"), "content-length") ||
		EqualFold([]byte("\xc4"), "\xe4") {
		t.Errorf("EqualFold")
	}
}
