package demo

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// start runs a backend named backend-1 on a free port for the test's duration.
func start(t *testing.T) *Backend {
	t.Helper()
	b, err := Start("backend-1", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// do sends a request to b and returns the status, headers and body.
func do(t *testing.T, b *Backend, method, path string, header http.Header, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+b.Addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(data)
}

func TestStartRejectsEmptyName(t *testing.T) {
	if _, err := Start("", "127.0.0.1:0"); err == nil {
		t.Fatal("Start with empty name: got nil error")
	}
}

func TestIndex(t *testing.T) {
	b := start(t)
	forwardedHeaders := http.Header{
		"X-Forwarded-For":   {"203.0.113.7"},
		"X-Forwarded-Proto": {"https"},
		"X-Forwarded-Port":  {"443"},
		"X-Amzn-Trace-Id":   {"Root=1-67891233-abcdef012345678912345678"},
		"Cookie":            {"AWSALB=abc; session=xyz"},
	}
	tests := []struct {
		name     string
		accept   string
		wantType string
		want     []string
	}{
		{"browser", "text/html,application/xhtml+xml,*/*;q=0.8", "text/html", []string{
			"<h1>backend-1</h1>", "Reload to see round robin", `href="/chat"`,
			"203.0.113.7", "Root=1-67891233-abcdef012345678912345678", "AWSALB, session", "HTTP/1.1",
		}},
		{"curl", "*/*", "text/plain", []string{
			"hello from backend-1\n",
			"Host: " + b.Addr + "\n",
			"X-Forwarded-For: 203.0.113.7\n",
			"X-Forwarded-Proto: https\n",
			"X-Forwarded-Port: 443\n",
			"X-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678\n",
			"Protocol: HTTP/1.1\n",
			"Cookies: AWSALB, session\n",
			"Remote-Addr: 127.0.0.1:",
		}},
		{"no accept header", "", "text/plain", []string{"hello from backend-1\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := forwardedHeaders.Clone()
			if tt.accept != "" {
				h.Set("Accept", tt.accept)
			}
			code, hdr, body := do(t, b, "GET", "/", h, "")
			if code != http.StatusOK {
				t.Fatalf("status %d, want 200", code)
			}
			if got := hdr.Get("Content-Type"); !strings.HasPrefix(got, tt.wantType) {
				t.Errorf("Content-Type %q, want %s", got, tt.wantType)
			}
			if got := hdr.Get("X-Backend"); got != "backend-1" {
				t.Errorf("X-Backend %q, want backend-1", got)
			}
			if got := hdr.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
		})
	}
}

// TestIndexPlainFormat pins the exact text a curl user sees.
func TestIndexPlainFormat(t *testing.T) {
	b := start(t)
	_, _, body := do(t, b, "GET", "/", nil, "")
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	want := []string{
		"hello from backend-1",
		"Host: " + b.Addr,
		"X-Forwarded-For: (none)",
		"X-Forwarded-Proto: (none)",
		"X-Forwarded-Port: (none)",
		"X-Amzn-Trace-Id: (none)",
		"Protocol: HTTP/1.1",
		"Cookies: (none)",
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want)+1, body)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
		}
	}
	if last := lines[len(want)]; !strings.HasPrefix(last, "Remote-Addr: 127.0.0.1:") {
		t.Errorf("last line = %q, want Remote-Addr: 127.0.0.1:<port>", last)
	}
}

func TestIndexEscapesForwardedValues(t *testing.T) {
	b := start(t)
	h := http.Header{"Accept": {"text/html"}, "X-Forwarded-For": {"<script>x</script>"}}
	_, _, body := do(t, b, "GET", "/", h, "")
	if strings.Contains(body, "<script>x") {
		t.Errorf("header value rendered unescaped:\n%s", body)
	}
}

func TestUnknownPathIs404(t *testing.T) {
	b := start(t)
	if code, _, _ := do(t, b, "GET", "/nope", nil, ""); code != http.StatusNotFound {
		t.Errorf("status %d, want 404", code)
	}
}

func TestHealthFlips(t *testing.T) {
	b := start(t)
	steps := []struct {
		method, path string
		wantCode     int
		wantBody     string
	}{
		{"GET", "/health", 200, "ok\n"},
		{"POST", "/health/fail", 200, "backend-1: /health now answers 503\n"},
		{"GET", "/health", 503, "unhealthy\n"},
		{"GET", "/health", 503, "unhealthy\n"},
		{"POST", "/health/ok", 200, "backend-1: /health now answers 200\n"},
		{"GET", "/health", 200, "ok\n"},
		{"GET", "/health/fail", 405, ""},
	}
	for i, s := range steps {
		code, hdr, body := do(t, b, s.method, s.path, nil, "")
		if code != s.wantCode {
			t.Fatalf("step %d %s %s: status %d, want %d", i, s.method, s.path, code, s.wantCode)
		}
		if s.wantBody != "" && body != s.wantBody {
			t.Errorf("step %d %s %s: body %q, want %q", i, s.method, s.path, body, s.wantBody)
		}
		if s.wantBody != "" && !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Errorf("step %d: Content-Type %q", i, hdr.Get("Content-Type"))
		}
	}
}

// TestStreamFlushes reads the first tick well before the handler can have
// finished (it needs 4×200ms), proving each line is flushed on its own.
func TestStreamFlushes(t *testing.T) {
	b := start(t)
	conn, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(700 * time.Millisecond))
	fmt.Fprintf(conn, "GET /stream HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", b.Addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading response head: %v", err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
	body := bufio.NewReader(resp.Body)
	first, err := body.ReadString('\n')
	if err != nil {
		t.Fatalf("first line not delivered before the stream ended: %v", err)
	}
	if first != "tick 1 from backend-1\n" {
		t.Errorf("first line %q", first)
	}

	conn.SetDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	want := "tick 2 from backend-1\ntick 3 from backend-1\ntick 4 from backend-1\ntick 5 from backend-1\n"
	if string(rest) != want {
		t.Errorf("rest of stream %q, want %q", rest, want)
	}
}

func TestEcho(t *testing.T) {
	b := start(t)
	code, hdr, body := do(t, b, "POST", "/echo?a=1&b=two", http.Header{"X-Test": {"v1", "v2"}}, "hello\nbody")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	for _, w := range []string{
		"POST /echo?a=1&b=two HTTP/1.1\nHost: " + b.Addr + "\n",
		"\nContent-Length: 10\n",
		"\nX-Test: v1\nX-Test: v2\n",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("echo lacks %q:\n%s", w, body)
		}
	}
	if !strings.HasSuffix(body, "\n\nhello\nbody") {
		t.Errorf("echo does not end with the body:\n%s", body)
	}
}

func TestEchoRejectsHugeBody(t *testing.T) {
	b := start(t)
	code, _, _ := do(t, b, "POST", "/echo", nil, strings.Repeat("x", maxEchoBody+1))
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", code)
	}
}

func TestChatPage(t *testing.T) {
	b := start(t)
	code, hdr, body := do(t, b, "GET", "/chat", nil, "")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, Content-Type %q", code, hdr.Get("Content-Type"))
	}
	for _, w := range []string{`"/chat/ws"`, `"wss://"`, "new WebSocket", "backend-1", "setTimeout(connect"} {
		if !strings.Contains(body, w) {
			t.Errorf("chat page lacks %q", w)
		}
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	b, err := Start("backend-1", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", b.Addr, time.Second); err == nil {
		t.Error("backend still accepts connections after Close")
	}
}

func TestHue(t *testing.T) {
	seen := map[uint32]string{}
	for _, name := range []string{"backend-1", "backend-2", "backend-3", "web"} {
		h := hue(name)
		if h >= 360 {
			t.Errorf("hue(%q) = %d, out of range", name, h)
		}
		if other, ok := seen[h]; ok {
			t.Errorf("hue(%q) = hue(%q)", name, other)
		}
		seen[h] = name
	}
}
