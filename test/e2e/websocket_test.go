package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// streamCfg serves the same target group on an HTTP listener (P1) and an
// HTTPS listener (P2).
const streamCfg = `version: 1
load_balancers:
  - name: stream
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: app }]
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`

// TestWebSocketEcho carries 100 WebSocket messages each way through the
// HTTPS listener (wss) and the HTTP listener (ws); the target sees a plain
// ws upgrade with the X-Forwarded headers of the client's side.
func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if err := c.Write(context.Background(), typ, msg); err != nil {
				return
			}
		}
	})
	v := newVars(t, 2)
	v["B1"] = b.port
	e := start(t, render(t, streamCfg, v))
	e.waitHealthy("app", 1)
	cases := []struct {
		name, url, proto string
		port             any
	}{
		{"wss", fmt.Sprintf("wss://127.0.0.1:%d/ws", v["P2"]), "https", v["P2"]},
		{"ws", fmt.Sprintf("ws://127.0.0.1:%d/ws", v["P1"]), "http", v["P1"]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
			c, resp, err := websocket.Dial(ctx, tc.url, &websocket.DialOptions{HTTPClient: hc})
			if err != nil {
				t.Fatalf("dial %s: %v", tc.url, err)
			}
			defer c.CloseNow()
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d, want 101", resp.StatusCode)
			}
			up := b.last()
			for i := 0; i < 100; i++ {
				msg := "message " + strconv.Itoa(i)
				if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
				_, got, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if string(got) != msg {
					t.Fatalf("echo %q, want %q", got, msg)
				}
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Errorf("close: %v", err)
			}
			if up.TLS != nil {
				t.Errorf("target saw a TLS upgrade, want plain ws")
			}
			if up.Header.Get("Upgrade") != "websocket" || up.ProtoMajor != 1 || up.ProtoMinor != 1 {
				t.Errorf("target saw %s with Upgrade %q, want HTTP/1.1 websocket", up.Proto, up.Header.Get("Upgrade"))
			}
			if got := up.Header.Get("X-Forwarded-Proto"); got != tc.proto {
				t.Errorf("X-Forwarded-Proto %q, want %q", got, tc.proto)
			}
			if got := up.Header.Get("X-Forwarded-Port"); got != fmt.Sprint(tc.port) {
				t.Errorf("X-Forwarded-Port %q, want %v", got, tc.port)
			}
		})
	}
}

// TestStreamingNotBuffered: a chunk the target flushed reaches the client
// while the target is still waiting to write the rest, for a plain
// streaming response and for server-sent events, over HTTP/1.1 and over
// HTTP/2.
func TestStreamingNotBuffered(t *testing.T) {
	t.Parallel()
	var gates sync.Map // id → chan struct{}
	b := newBackend(t, "stream", func(w http.ResponseWriter, r *http.Request) {
		g, _ := gates.Load(r.URL.Query().Get("id"))
		gate, _ := g.(chan struct{})
		first, second := "first\n", "second\n"
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			first, second = "data: one\n\n", "data: two\n\n"
		}
		io.WriteString(w, first)
		http.NewResponseController(w).Flush()
		select {
		case <-gate:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, second)
	})
	v := newVars(t, 2)
	v["B1"] = b.port
	e := start(t, render(t, streamCfg, v))
	e.waitHealthy("app", 1)

	h1 := client()
	h2 := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}}
	cases := []struct {
		name      string
		c         *http.Client
		base      string
		path      string
		protoMaj  int
		firstLine string
		rest      string
	}{
		{"stream http1", h1, fmt.Sprintf("http://127.0.0.1:%d", v["P1"]), "/stream", 1, "first\n", "second\n"},
		{"stream h2", h2, fmt.Sprintf("https://127.0.0.1:%d", v["P2"]), "/stream", 2, "first\n", "second\n"},
		{"sse http1", h1, fmt.Sprintf("http://127.0.0.1:%d", v["P1"]), "/sse", 1, "data: one\n", "\ndata: two\n\n"},
		{"sse h2", h2, fmt.Sprintf("https://127.0.0.1:%d", v["P2"]), "/sse", 2, "data: one\n", "\ndata: two\n\n"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gate := make(chan struct{})
			var once sync.Once
			release := func() { once.Do(func() { close(gate) }) }
			defer release()
			id := strconv.Itoa(i)
			gates.Store(id, gate)

			resp, err := tc.c.Get(tc.base + tc.path + "?id=" + id)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != tc.protoMaj {
				t.Fatalf("%d over %s, want 200 over HTTP/%d", resp.StatusCode, resp.Proto, tc.protoMaj)
			}
			if tc.path == "/sse" && resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Errorf("Content-Type %q, want text/event-stream", resp.Header.Get("Content-Type"))
			}
			br := bufio.NewReader(resp.Body)
			line := make(chan string, 1)
			go func() {
				s, _ := br.ReadString('\n')
				line <- s
			}()
			select {
			case s := <-line:
				if s != tc.firstLine {
					t.Fatalf("first line %q, want %q", s, tc.firstLine)
				}
			case <-time.After(5 * time.Second):
				release()
				t.Fatalf("the flushed first chunk did not arrive while the target held the response open (buffered)")
			}
			release()
			rest, err := io.ReadAll(br)
			if err != nil {
				t.Fatal(err)
			}
			if string(rest) != tc.rest {
				t.Errorf("rest %q, want %q", rest, tc.rest)
			}
			if r := b.last(); r.ProtoMajor != 1 {
				t.Errorf("target saw %s, want HTTP/1.1", r.Proto)
			}
		})
	}
}
