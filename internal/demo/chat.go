package demo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Chat limits.
const (
	maxSockets      = 100     // per backend; more get 503 before the upgrade
	maxMessageBytes = 4 << 10 // larger messages close the socket with 1009
	sendQueue       = 32      // messages buffered per socket before it counts as too slow
	writeTimeout    = 10 * time.Second
	pingInterval    = 30 * time.Second // keeps idle sockets alive through the load balancer's idle timeout
)

// hub is the chat of one backend: every text message a socket sends is
// broadcast to all sockets of the same backend as "<name>: <text>". A socket
// first receives "<name>: welcome (N connected)", N counting itself.
//
// Origins: /chat/ws uses websocket.Accept's default check, which accepts a
// browser's request only when the Origin's host equals the Host header. Behind
// sluice the Host header is the one the browser sent (the load balancer
// preserves it), so the chat page served through the load balancer can open
// its socket and pages on other sites cannot.
type hub struct {
	name string

	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool
	active  sync.WaitGroup // one per joined client, done when its handler returns
}

// client is one socket's place in the hub.
type client struct {
	send chan string   // messages for the writer; never closed
	quit chan struct{} // closed by stop: the writer closes the socket with code
	once sync.Once
	code websocket.StatusCode
	why  string
}

func newHub(name string) *hub {
	return &hub{name: name, clients: make(map[*client]struct{})}
}

// stop asks the client's writer to close the socket with code and reason;
// later calls do nothing.
func (c *client) stop(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		c.code, c.why = code, reason
		close(c.quit)
	})
}

// join registers c and queues its welcome message. It reports false when the
// hub is full or closed.
func (h *hub) join(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.clients) >= maxSockets {
		return false
	}
	h.clients[c] = struct{}{}
	h.active.Add(1)
	c.send <- fmt.Sprintf("%s: welcome (%d connected)", h.name, len(h.clients))
	return true
}

// leave unregisters c; its handler is returning.
func (h *hub) leave(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	h.active.Done()
}

// broadcast queues msg for every client. A client whose queue is full is
// disconnected rather than allowed to hold everyone else up.
func (h *hub) broadcast(msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.send <- msg:
		default:
			c.stop(websocket.StatusPolicyViolation, "too slow")
		}
	}
}

// close refuses new sockets, closes the open ones with "going away" and waits
// for their handlers to return.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for c := range h.clients {
		c.stop(websocket.StatusGoingAway, "backend shutting down")
	}
	h.mu.Unlock()
	h.active.Wait()
}

// ServeHTTP upgrades the request to a WebSocket and runs it until either side
// closes it.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &client{send: make(chan string, sendQueue), quit: make(chan struct{})}
	if !h.join(c) {
		http.Error(w, "chat is full or shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.leave(c)
	conn, err := websocket.Accept(w, r, nil) // nil: default same-host origin check, see hub
	if err != nil {
		return // Accept has written the error response
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxMessageBytes)

	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.write(conn, c, readerDone)
	}()
	h.read(conn)
	close(readerDone)
	<-writerDone
}

// read broadcasts every text message until the socket fails or closes.
func (h *hub) read(conn *websocket.Conn) {
	for {
		typ, data, err := conn.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			conn.Close(websocket.StatusUnsupportedData, "text messages only")
			return
		}
		// Invalid UTF-8 would make browsers drop the connection of every
		// receiver, so it is replaced rather than passed on.
		if text := strings.TrimSpace(strings.ToValidUTF8(string(data), "\uFFFD")); text != "" {
			h.broadcast(h.name + ": " + text)
		}
	}
}

// write sends queued messages and keep-alive pings until the reader is done
// or the hub stops the client.
func (h *hub) write(conn *websocket.Conn, c *client, readerDone <-chan struct{}) {
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-readerDone:
			return
		case <-c.quit:
			conn.Close(c.code, c.why) // the reader returns once this completes
			return
		case msg := <-c.send:
			ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			err := conn.Write(ctx, websocket.MessageText, []byte(msg))
			cancel()
			if err != nil {
				conn.CloseNow()
				return
			}
		case <-ping.C:
			ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			err := conn.Ping(ctx)
			cancel()
			if err != nil {
				conn.CloseNow()
				return
			}
		}
	}
}
