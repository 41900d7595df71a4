package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/target"
)

// errorsCfg routes by path prefix to target groups that each fail in one
// way. The load balancer's idle timeout is 1s so that 504 comes quickly.
const errorsCfg = `version: 1
load_balancers:
  - name: errs
    idle_timeout: 1s
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/grpc/*"] }]
            actions: [{ type: forward, target_group: grpc }]
          - priority: 2
            conditions: [{ field: path-pattern, values: ["/empty/*"] }]
            actions: [{ type: forward, target_group: empty }]
          - priority: 3
            conditions: [{ field: path-pattern, values: ["/reset/*", "/badstatus/*", "/slow/*", "/cut/*"] }]
            actions: [{ type: forward, target_group: bad }]
          - priority: 4
            conditions: [{ field: path-pattern, values: ["/refused/*"] }]
            actions: [{ type: forward, target_group: refused }]
        default_actions: [{ type: forward, target_group: good }]
target_groups:
  - name: good
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
  - name: grpc
    protocol: HTTP
    protocol_version: GRPC
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
  - name: empty
    protocol: HTTP
    port: {{.B1}}
    targets: []
  - name: bad
    protocol: HTTP
    port: {{.B2}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
  - name: refused
    protocol: HTTP
    port: {{.Dead}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
`

// TestErrorsLoadBalancerStatuses sends requests that sluice must answer
// itself, each with ALB's status code.
func TestErrorsLoadBalancerStatuses(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	good := newBackend(t, "good", nil)
	bad := newBackend(t, "bad", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/reset/"):
			// Read the request, then reset the connection without a
			// response.
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		case strings.HasPrefix(r.URL.Path, "/badstatus/"):
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\nok")
			c.Close()
		case strings.HasPrefix(r.URL.Path, "/cut/"):
			// Headers and part of the body, then the connection dies.
			c, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
			buf.Flush()
			time.Sleep(50 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		case strings.HasPrefix(r.URL.Path, "/slow/"):
			select {
			case <-release:
			case <-time.After(3 * time.Second):
			}
			io.WriteString(w, "too late")
		}
	})
	v := newVars(t, 1)
	v["B1"], v["B2"], v["Dead"] = good.port, bad.port, freePort(t)
	e := start(t, render(t, errorsCfg, v))
	e.waitHealthy("good", 1)
	e.waitHealthy("bad", 1)
	addr := fmt.Sprintf("127.0.0.1:%d", v["P1"])

	xff := func(n int) string {
		ips := make([]string, n)
		for i := range ips {
			ips[i] = fmt.Sprintf("10.0.0.%d", i+1)
		}
		return strings.Join(ips, ", ")
	}
	headerLines := func(n, size int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "X-Big-%d: %s\r\n", i, strings.Repeat("a", size))
		}
		return b.String()
	}
	cases := []struct {
		name   string
		raw    string
		status int
		// sluice is whether the handler, not net/http, answers: its pages
		// carry Server: sluice.
		sluice bool
	}{
		{"405 TRACE", "TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, true},
		{"414 URI of 17 KiB", "GET /" + strings.Repeat("u", 17<<10) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414, true},
		{"200 URI of 15 KiB", "GET /" + strings.Repeat("u", 15<<10) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, false},
		{"400 one header of 17 KiB", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headerLines(1, 17<<10) + "\r\n", 400, true},
		{"400 headers of 70 KiB", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headerLines(14, 5<<10) + "\r\n", 400, true},
		{"200 headers of 60 KiB", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headerLines(12, 5<<10) + "\r\n", 200, false},
		{"463 31 XFF addresses", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: " + xff(31) + "\r\n\r\n", 463, true},
		{"463 31 XFF addresses in two headers", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: " + xff(16) + "\r\nX-Forwarded-For: " + xff(15) + "\r\n\r\n", 463, true},
		{"200 30 XFF addresses", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: " + xff(30) + "\r\n\r\n", 200, false},
		{"464 HTTP/1.1 to a GRPC group", "POST /grpc/svc HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/grpc\r\nContent-Length: 0\r\n\r\n", 464, true},
		{"501 Transfer-Encoding gzip", "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: gzip\r\n\r\n", 501, false},
		{"505 HTTP/2.0 on HTTP/1", "GET / HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n", 505, false},
		{"505 HTTP/3.0 on HTTP/1", "GET / HTTP/3.0\r\nHost: x\r\nConnection: close\r\n\r\n", 505, false},
		{"503 no targets", "GET /empty/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 503, true},
		{"502 target resets before responding", "GET /reset/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 502, true},
		{"502 malformed status line", "GET /badstatus/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 502, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, text := rawRequest(t, addr, tc.raw)
			if code != tc.status {
				t.Fatalf("status %d, want %d; response:\n%.300s", code, tc.status, text)
			}
			resp := parseRaw(t, text)
			if tc.sluice && resp.Header.Get("Server") != "sluice" {
				t.Errorf("Server %q, want sluice", resp.Header.Get("Server"))
			}
			if !tc.sluice && tc.status == 200 && resp.Header.Get("X-Backend") != "good" {
				t.Errorf("answered by %q, want the good backend", resp.Header.Get("X-Backend"))
			}
		})
	}

	t.Run("504 target slower than idle timeout", func(t *testing.T) {
		begin := time.Now()
		code, text := rawRequest(t, addr, "GET /slow/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		took := time.Since(begin)
		if code != 504 {
			t.Fatalf("status %d, want 504; response:\n%.300s", code, text)
		}
		if took < 900*time.Millisecond || took > 2500*time.Millisecond {
			t.Errorf("504 after %v, want about the 1s idle timeout", took)
		}
		if s := parseRaw(t, text).Header.Get("Server"); s != "sluice" {
			t.Errorf("Server %q, want sluice", s)
		}
	})

	t.Run("target dies mid-body", func(t *testing.T) {
		// The status line has gone out: the client can only see the
		// response cut short.
		c := client()
		resp, err := c.Get(fmt.Sprintf("http://%s/cut/x", addr))
		if err != nil {
			return // also acceptable: the connection was aborted
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatalf("read a full body %q (status %d) from a target that died mid-body", body, resp.StatusCode)
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "partial") {
			t.Errorf("got %d %q before the cut, want 200 \"partial\"", resp.StatusCode, body)
		}
	})

	t.Run("502 connection refused", func(t *testing.T) {
		// The only target refuses connections: ALB answers 502. The
		// failed connect ejects it; with no healthy target the group
		// fails open and still tries it, so later requests are 502 too.
		for i := 0; i < 3; i++ {
			code, text := rawRequest(t, addr, "GET /refused/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			if code != 502 {
				t.Fatalf("request %d: status %d, want 502; response:\n%.300s", i, code, text)
			}
			if s := parseRaw(t, text).Header.Get("Server"); s != "sluice" {
				t.Errorf("Server %q, want sluice", s)
			}
		}
		if n := e.countState("refused", target.StateUnhealthy); n != 1 {
			t.Errorf("%d unhealthy targets in refused, want the one ejected", n)
		}
	})

	t.Run("good target still served", func(t *testing.T) {
		resp, body := get(t, client(), fmt.Sprintf("http://%s/", addr))
		if resp.StatusCode != 200 || body != "good" {
			t.Fatalf("got %d %q, want 200 good", resp.StatusCode, body)
		}
	})
}

// TestErrorsRetryOnConnectFailure sends GETs to a group with one dead and
// one live target and checks that the retried request is the client's
// request, not the one already rewritten for the dead target.
func TestErrorsRetryOnConnectFailure(t *testing.T) {
	t.Parallel()
	live := newBackend(t, "live", nil)
	v := newVars(t, 1)
	v["Live"], v["Dead"] = live.port, freePort(t)
	start(t, render(t, `version: 1
load_balancers:
  - name: retry
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.Live}}
    targets: [{ id: 127.0.0.1, port: {{.Dead}} }, { id: 127.0.0.1 }]
    health_check: { enabled: false }
`, v))
	c := client()
	url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	for i := 0; i < 4; i++ {
		resp, body := get(t, c, url, "X-Forwarded-For", "1.2.3.4")
		if resp.StatusCode != 200 || body != "live" {
			t.Fatalf("request %d: %d %q, want 200 from live (the retry)", i, resp.StatusCode, body)
		}
		r := live.last()
		if got := r.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "1.2.3.4, 127.0.0.1" {
			t.Errorf("request %d: target saw X-Forwarded-For %q, want [\"1.2.3.4, 127.0.0.1\"]", i, got)
		}
	}
	if n := live.count(); n != 4 {
		t.Fatalf("live saw %d requests, want 4", n)
	}
}

// parseRaw parses a raw HTTP/1 response.
func parseRaw(t *testing.T, text string) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(text)), nil)
	if err != nil {
		t.Fatalf("parsing response: %v\n%.300s", err, text)
	}
	return resp
}

// errorsGoodEnv starts errorsCfg with every group but refused pointing at
// one healthy backend and returns the HTTP listener's address.
func errorsGoodEnv(t *testing.T) string {
	t.Helper()
	good := newBackend(t, "good", nil)
	v := newVars(t, 1)
	v["B1"], v["B2"], v["Dead"] = good.port, good.port, freePort(t)
	e := start(t, render(t, errorsCfg, v))
	e.waitHealthy("good", 1)
	return fmt.Sprintf("127.0.0.1:%d", v["P1"])
}

// TestErrorsTransferEncodingIdentity: ALB answers 501 only for transfer
// codings other than chunked or identity.
func TestErrorsTransferEncodingIdentity(t *testing.T) {
	skipOnNetHTTP(t, "net/http answers Transfer-Encoding: identity with 501")
	t.Parallel()
	addr := errorsGoodEnv(t)
	code, text := rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\nok")
	if code != 200 {
		t.Fatalf("status %d, want 200; response:\n%.300s", code, text)
	}
}

// TestErrorsHeadersOverNetHTTPLimit: request headers beyond net/http's
// MaxHeaderBytes are still over ALB's limits and must get ALB's 400.
func TestErrorsHeadersOverNetHTTPLimit(t *testing.T) {
	t.Parallel()
	addr := errorsGoodEnv(t)
	var b strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "X-Big-%d: %s\r\n", i, strings.Repeat("a", 5<<10))
	}
	code, text := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"+b.String()+"\r\n")
	if code != 400 {
		t.Fatalf("status %d, want 400; response:\n%.300s", code, text)
	}
}

// TestErrorsRequestTimeout: a client that stops sending halfway through its
// request headers gets 408 once the idle timeout (1s) passes.
func TestErrorsRequestTimeout(t *testing.T) {
	skipOnNetHTTP(t, "net/http closes an incomplete request at the idle timeout without a 408")
	t.Parallel()
	addr := errorsGoodEnv(t)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	out, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(out), "HTTP/1.1 408 ") {
		t.Fatalf("got %q after the idle timeout, want a 408 response", out)
	}
}
