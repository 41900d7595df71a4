package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// TestNoResendOfNonIdempotent: a kept-alive target connection that the
// target closes after reading the request must not make sluice send a POST
// again (it may have been processed), while a GET may be resent. Regression:
// every request without a body was resent.
func TestNoResendOfNonIdempotent(t *testing.T) {
	skipOnNetHTTP(t, "the resend rule is the h1 engine's")
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	seen := map[string]int{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					for {
						h, err := br.ReadString('\n')
						if err != nil || h == "\r\n" {
							break
						}
					}
					mu.Lock()
					seen[strings.TrimSpace(line)]++
					mu.Unlock()
					if n > 0 {
						return // the second request on a connection: drop it unanswered
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	v := newVars(t, 1)
	v["B"] = ln.Addr().(*net.TCPAddr).Port
	start(t, render(t, `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: b }]
target_groups:
  - { name: b, protocol: HTTP, port: {{.B}}, targets: [{ id: 127.0.0.1 }], health_check: { enabled: false } }
`, v))
	addr := fmt.Sprintf("127.0.0.1:%d", v["P1"])
	exchange := func(req string) int {
		st, _ := rawExchange(t, addr, req, 1)
		if len(st) == 0 {
			return 0
		}
		return st[0]
	}
	if got := exchange("GET /warm HTTP/1.1\r\nHost: a\r\n\r\n"); got != 200 {
		t.Fatalf("warm-up: %d", got)
	}
	if got := exchange("POST /drop HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"); got != 502 {
		t.Fatalf("POST on a connection the target drops: %d, want 502", got)
	}
	if got := exchange("GET /again HTTP/1.1\r\nHost: a\r\n\r\n"); got != 200 {
		t.Fatalf("GET on a connection the target drops: %d, want 200 after a resend", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := seen["POST /drop HTTP/1.1"]; n != 1 {
		t.Fatalf("target saw the POST %d times, want once", n)
	}
}
