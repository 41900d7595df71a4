package e2e

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

// TestBodyFraming covers body framing end to end: Expect: 100-continue,
// chunked bodies with trailers both ways, a chunked response to an HTTP/1.0
// client, and a response delimited by closing the connection.
func TestBodyFraming(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s|%s|%s", r.Method, body, r.Trailer.Get("X-Sum"))
		case "/chunked":
			w.Header().Set("Trailer", "X-Done")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part1,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part2")
			w.Header().Set("X-Done", "yes")
		}
	})
	closer := newRawCloseBackend(t)
	v := newVars(t, 1)
	v["B"], v["C"] = b.port, closer
	start(t, render(t, `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/close"] }]
            actions: [{ type: forward, target_group: closer }]
        default_actions: [{ type: forward, target_group: b }]
target_groups:
  - { name: b, protocol: HTTP, port: {{.B}}, targets: [{ id: 127.0.0.1 }], health_check: { enabled: false } }
  - { name: closer, protocol: HTTP, port: {{.C}}, targets: [{ id: 127.0.0.1 }], health_check: { enabled: false } }
`, v))
	addr := fmt.Sprintf("127.0.0.1:%d", v["P1"])

	t.Run("expect 100-continue", func(t *testing.T) {
		c, br := dialRaw(t, addr)
		io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 100 {
			t.Fatalf("interim response: %v %v, want 100 Continue before the body is sent", resp, err)
		}
		io.WriteString(c, "hello")
		resp, err = http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "POST|hello|" {
			t.Fatalf("final response %d %q", resp.StatusCode, body)
		}
	})
	t.Run("chunked request with trailer", func(t *testing.T) {
		skipOnNetHTTP(t, "httputil.ReverseProxy does not forward request trailers")
		c, br := dialRaw(t, addr)
		io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 42\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "POST|abcde|42" {
			t.Fatalf("target saw %q, want the body and its trailer", body)
		}
	})
	t.Run("chunked response with trailer", func(t *testing.T) {
		c, br := dialRaw(t, addr)
		io.WriteString(c, "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "part1,part2" || resp.Trailer.Get("X-Done") != "yes" {
			t.Fatalf("body %q trailer %v, want both parts and X-Done", body, resp.Trailer)
		}
		// The connection stays usable after a chunked response.
		io.WriteString(c, "GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("second request on the connection: %v %v", resp, err)
		}
	})
	t.Run("chunked response to HTTP/1.0 client", func(t *testing.T) {
		c, _ := dialRaw(t, addr)
		io.WriteString(c, "GET /chunked HTTP/1.0\r\nHost: a\r\n\r\n")
		all, _ := io.ReadAll(c)
		head, body, _ := strings.Cut(string(all), "\r\n\r\n")
		if strings.Contains(strings.ToLower(head), "transfer-encoding") || body != "part1,part2" {
			t.Fatalf("HTTP/1.0 client got %q, want the plain body delimited by close", all)
		}
	})
	t.Run("close-delimited response", func(t *testing.T) {
		skipOnNetHTTP(t, "net/http re-chunks a close-delimited response for HTTP/1.1 clients")
		c, br := dialRaw(t, addr)
		io.WriteString(c, "GET /close HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "until the end" || !resp.Close {
			t.Fatalf("body %q close %v", body, resp.Close)
		}
	})
}

func dialRaw(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// newRawCloseBackend answers every request with a body that ends when it
// closes the connection (no Content-Length, no chunking).
func newRawCloseBackend(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
