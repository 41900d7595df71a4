package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawBackend is a deliberately simple HTTP/1.1 target that records the exact
// bytes of every request it receives (head and body, framed strictly by
// Content-Length or chunked) and answers each with "200 ok". It lets a test
// see precisely what crossed the load balancer.
type rawBackend struct {
	port int
	mu   sync.Mutex
	reqs []string
}

func newRawBackend(t *testing.T) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{port: ln.Addr().(*net.TCPAddr).Port}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c)
		}
	}()
	return b
}

func (b *rawBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var raw bytes.Buffer
		cl, chunked := int64(0), false
		for {
			line, err := br.ReadString('\n')
			raw.WriteString(line)
			if err != nil {
				return
			}
			if line == "\r\n" || line == "\n" {
				break
			}
			name, value, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
			value = strings.TrimSpace(value)
			switch strings.ToLower(name) {
			case "content-length":
				cl, _ = strconv.ParseInt(value, 10, 64)
			case "transfer-encoding":
				chunked = strings.EqualFold(value, "chunked")
			}
		}
		if chunked {
			for {
				line, err := br.ReadString('\n')
				raw.WriteString(line)
				if err != nil {
					return
				}
				n, _ := strconv.ParseInt(strings.TrimRight(line, "\r\n"), 16, 64)
				if n == 0 {
					end, _ := br.ReadString('\n')
					raw.WriteString(end)
					break
				}
				if _, err := io.CopyN(&raw, br, n+2); err != nil {
					return
				}
			}
		} else if cl > 0 {
			if _, err := io.CopyN(&raw, br, cl); err != nil {
				return
			}
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, raw.String())
		b.mu.Unlock()
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// received returns the requests seen so far, with the headers the load
// balancer adds (which vary per run) removed.
func (b *rawBackend) received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, len(b.reqs))
	for i, r := range b.reqs {
		var keep []string
		for _, line := range strings.SplitAfter(r, "\n") {
			l := strings.ToLower(line)
			if strings.HasPrefix(l, "x-forwarded-") || strings.HasPrefix(l, "x-amzn-trace-id:") {
				continue
			}
			keep = append(keep, line)
		}
		out[i] = strings.Join(keep, "")
	}
	return out
}
