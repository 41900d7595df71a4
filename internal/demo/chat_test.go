package demo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dial opens a chat socket to b; opts may be nil.
func dial(ctx context.Context, t *testing.T, b *Backend, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws://"+b.Addr+"/chat/ws", opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// expect reads one message from c and compares it with want.
func expect(ctx context.Context, t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("reading %q: %v", want, err)
	}
	if typ != websocket.MessageText || string(data) != want {
		t.Fatalf("got %v %q, want text %q", typ, data, want)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestChatBroadcast(t *testing.T) {
	b := start(t)
	ctx := testContext(t)
	alice := dial(ctx, t, b, nil)
	expect(ctx, t, alice, "backend-1: welcome (1 connected)")
	bob := dial(ctx, t, b, nil)
	expect(ctx, t, bob, "backend-1: welcome (2 connected)")

	if err := alice.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	expect(ctx, t, alice, "backend-1: hello")
	expect(ctx, t, bob, "backend-1: hello")

	if err := bob.Write(ctx, websocket.MessageText, []byte("  hi there  ")); err != nil {
		t.Fatal(err)
	}
	expect(ctx, t, alice, "backend-1: hi there")
	expect(ctx, t, bob, "backend-1: hi there")
}

func TestChatCountsLeavers(t *testing.T) {
	b := start(t)
	ctx := testContext(t)
	first := dial(ctx, t, b, nil)
	expect(ctx, t, first, "backend-1: welcome (1 connected)")
	if err := first.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	// The server unregisters asynchronously after the close handshake.
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.chat.mu.Lock()
		n := len(b.chat.clients)
		b.chat.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d clients still registered", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	second := dial(ctx, t, b, nil)
	expect(ctx, t, second, "backend-1: welcome (1 connected)")
}

func TestChatOrigin(t *testing.T) {
	b := start(t)
	ctx := testContext(t)
	tests := []struct {
		name   string
		origin string
		wantOK bool
	}{
		{"no origin (non-browser client)", "", true},
		{"same host", "http://" + b.Addr, true},
		{"same host over https (TLS ended at the load balancer)", "https://" + b.Addr, true},
		{"other site", "https://evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := websocket.Dial(ctx, "ws://"+b.Addr+"/chat/ws", &websocket.DialOptions{HTTPHeader: h})
			if tt.wantOK {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.CloseNow()
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatal("dial succeeded, want refusal")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %v, want 403", err)
			}
		})
	}
}

func TestChatMessageLimit(t *testing.T) {
	b := start(t)
	ctx := testContext(t)
	c := dial(ctx, t, b, nil)
	expect(ctx, t, c, "backend-1: welcome (1 connected)")
	c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", maxMessageBytes+1)))
	_, _, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("read after oversized message: %v, want close status %d", err, websocket.StatusMessageTooBig)
	}
}

func TestChatSocketLimit(t *testing.T) {
	b := start(t)
	ctx := testContext(t)
	for range maxSockets {
		dial(ctx, t, b, nil)
	}
	_, resp, err := websocket.Dial(ctx, "ws://"+b.Addr+"/chat/ws", nil)
	if err == nil {
		t.Fatal("dial beyond the limit succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %v, want 503", err)
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	b, err := Start("backend-1", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	c := dial(ctx, t, b, nil)
	expect(ctx, t, c, "backend-1: welcome (1 connected)")

	// The client must keep reading for the close handshake to complete.
	readErr := make(chan error, 1)
	go func() {
		_, _, err := c.Read(ctx)
		readErr <- err
	}()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err = <-readErr
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Fatalf("read after Close: %v, want close status %d", err, websocket.StatusGoingAway)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("test context expired")
	}
}
