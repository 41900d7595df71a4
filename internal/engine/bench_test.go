package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sluicelb/sluice/internal/server"
)

// fastBackend answers every request head with a fixed 2-byte response; it
// costs as little as a target can, so the benchmark measures sluice.
func fastBackend(b testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16<<10)
				n := 0
				for {
					m, err := c.Read(buf[n:])
					if err != nil {
						return
					}
					n += m
					for {
						i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						n = copy(buf, buf[i+4:n])
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// startSluice serves a config with 20 non-matching rules before the
// default forward, so routing is exercised, and returns the listener
// address.
func startSluice(b *testing.B, engine string) string { return startSluiceTB(b, engine) }

func startSluiceT(t *testing.T) string { return startSluiceTB(t, "h1") }

func startSluiceTB(b testing.TB, engine string) string {
	port := fastBackend(b)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	lport := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := fmt.Sprintf("version: 1\nload_balancers:\n  - name: bench\n    listeners:\n      - protocol: HTTP\n        port: %d\n        address: 127.0.0.1\n        rules:\n", lport)
	for i := 1; i <= 20; i++ {
		cfg += fmt.Sprintf("          - priority: %d\n            conditions: [{ field: path-pattern, values: [\"/nomatch-%d/*\"] }]\n            actions: [{ type: fixed-response, fixed_response: { status_code: \"404\" } }]\n", i, i)
	}
	cfg += fmt.Sprintf("        default_actions: [{ type: forward, target_group: tg }]\ntarget_groups:\n  - { name: tg, protocol: HTTP, port: %d, targets: [{ id: 127.0.0.1 }], health_check: { enabled: false } }\n", port)
	dir := b.TempDir()
	file := filepath.Join(dir, "sluice.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Options{DataDir: dir, Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.ApplyFile(file); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Shutdown(context.Background()) })
	return "127.0.0.1:" + strconv.Itoa(lport)
}

// BenchmarkProxyKeepAlive forwards tiny keep-alive requests through the
// whole request path (parse, route over 20 rules, pick, forward, relay) on
// parallel client connections. Run with -cpu 1,2,4 to see it scale: each
// connection's state is its own and nothing on the path takes a global lock.
func BenchmarkProxyKeepAlive(b *testing.B) {
	for _, engine := range []string{"h1", "nethttp"} {
		b.Run(engine, func(b *testing.B) {
			addr := startSluice(b, engine)
			req := []byte("GET /bench HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for pb.Next() {
					if _, err := c.Write(req); err != nil {
						b.Error(err)
						return
					}
					if err := readResponse(br); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// readResponse reads one response with a Content-Length body.
func readResponse(br *bufio.Reader) error {
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if bytes.HasPrefix(line, []byte("Content-Length: ")) {
			n, _ = strconv.Atoi(string(bytes.TrimSpace(line[16:])))
		}
	}
	if n < 0 {
		return fmt.Errorf("no Content-Length")
	}
	_, err := br.Discard(n)
	return err
}
