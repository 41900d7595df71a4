package engine_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// TestLongKeepAlive sends many requests, with bodies, on one connection: far
// more bytes than the read buffer holds. Regression: the buffer's cursor
// reached its end and the connection was taken for closed.
func TestLongKeepAlive(t *testing.T) {
	addr := startSluiceTB(t, "h1")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	body := strings.Repeat("x", 3000)
	for i := 0; i < 500; i++ {
		req := "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
		if i%2 == 1 {
			req = "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n" + body
		}
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if err := readResponse(br); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
	}
}
