package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/target"
)

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// targetFor returns a target whose address is addr (host:port).
func targetFor(t *testing.T, addr string) *target.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return target.New(target.Key{Group: "g", ID: host, Port: p}, epoch)
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

func get(ctx context.Context, p *Pool, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Scheme()+"://"+p.Target.Addr+path, nil)
	if err != nil {
		return nil, err
	}
	return p.Transport.RoundTrip(req)
}

func getBody(t *testing.T, p *Pool, path string) (string, error) {
	t.Helper()
	resp, err := get(context.Background(), p, path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestPoolsGet(t *testing.T) {
	ps := NewPools()
	t1 := target.New(target.Key{Group: "g", ID: "127.0.0.1", Port: 1}, epoch)
	t2 := target.New(target.Key{Group: "g", ID: "127.0.0.1", Port: 2}, epoch)
	base := ps.Get(t1, Settings{})
	tests := []struct {
		name string
		t    *target.Target
		s    Settings
		same bool
	}{
		{"same target and settings", t1, Settings{}, true},
		{"other target", t2, Settings{}, false},
		{"HTTPS", t1, Settings{HTTPS: true}, false},
		{"HTTP2", t1, Settings{HTTP2: true}, false},
		{"idle timeout", t1, Settings{IdleTimeout: time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ps.Get(tt.t, tt.s)
			if (p == base) != tt.same {
				t.Errorf("same pool = %v, want %v", p == base, tt.same)
			}
			if again := ps.Get(tt.t, tt.s); again != p {
				t.Error("second Get with the same key returned another pool")
			}
			if p.Target != tt.t {
				t.Error("pool has the wrong target")
			}
		})
	}
}

func TestPoolDefaults(t *testing.T) {
	tg := target.New(target.Key{Group: "g", ID: "127.0.0.1", Port: 1}, epoch)
	tests := []struct {
		name       string
		s          Settings
		wantIdle   time.Duration
		wantScheme string
	}{
		{"zero idle means 60s", Settings{}, 60 * time.Second, "http"},
		{"negative idle means 60s", Settings{IdleTimeout: -1}, 60 * time.Second, "http"},
		{"explicit idle", Settings{IdleTimeout: 5 * time.Second, HTTPS: true}, 5 * time.Second, "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPools().Get(tg, tt.s)
			if p.Settings.IdleTimeout != tt.wantIdle {
				t.Errorf("Settings.IdleTimeout = %v, want %v", p.Settings.IdleTimeout, tt.wantIdle)
			}
			// The response header timeout is a little shorter than the
			// idle timeout, so it fires before the connection's deadline.
			if hdr := p.Transport.ResponseHeaderTimeout; p.Transport.IdleConnTimeout != tt.wantIdle || hdr >= tt.wantIdle || hdr < tt.wantIdle*9/10 {
				t.Errorf("transport timeouts = %v/%v, want %v and a little less", p.Transport.IdleConnTimeout, hdr, tt.wantIdle)
			}
			if p.Scheme() != tt.wantScheme {
				t.Errorf("Scheme() = %q, want %q", p.Scheme(), tt.wantScheme)
			}
		})
	}
}

func TestPoolsRetain(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	ps := NewPools()
	tg := targetFor(t, srv.Listener.Addr().String())
	keep := ps.Get(tg, Settings{})
	drop := ps.Get(tg, Settings{IdleTimeout: time.Minute})
	for _, p := range []*Pool{keep, drop} {
		if _, err := getBody(t, p, "/"); err != nil {
			t.Fatal(err)
		}
	}
	if n := tg.OpenConns(); n != 2 {
		t.Fatalf("OpenConns() = %d, want 2 (one idle conn per pool)", n)
	}
	ps.Retain(map[*Pool]bool{keep: true})
	if got := ps.Get(tg, Settings{}); got != keep {
		t.Error("retained pool replaced")
	}
	if got := ps.Get(tg, Settings{IdleTimeout: time.Minute}); got == drop {
		t.Error("dropped pool still cached")
	}
	if n := tg.OpenConns(); n != 1 {
		t.Errorf("OpenConns() = %d after Retain, want the dropped pool's idle conn closed", n)
	}
	ps.CloseIdle()
	if n := tg.OpenConns(); n != 0 {
		t.Errorf("OpenConns() = %d after CloseIdle, want 0", n)
	}
}

func TestConnTracking(t *testing.T) {
	var mu sync.Mutex
	states := map[net.Conn][]http.ConnState{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		states[c] = append(states[c], s)
		mu.Unlock()
	}
	srv.Start()
	defer srv.Close()
	// serverConns counts the connections that carried a request and those
	// of them that are closed.
	serverConns := func() (n, closed int) {
		mu.Lock()
		defer mu.Unlock()
		for _, ss := range states {
			if !slices.Contains(ss, http.StateActive) {
				continue
			}
			n++
			if ss[len(ss)-1] == http.StateClosed {
				closed++
			}
		}
		return
	}

	tg := targetFor(t, srv.Listener.Addr().String())
	p := NewPools().Get(tg, Settings{})
	for i := 0; i < 3; i++ {
		body, err := getBody(t, p, "/")
		if err != nil || body != "hello" {
			t.Fatalf("request %d: %q, %v", i, body, err)
		}
		if n := tg.OpenConns(); n != 1 {
			t.Fatalf("request %d: OpenConns() = %d, want 1 kept-alive conn", i, n)
		}
	}
	if n, _ := serverConns(); n != 1 {
		t.Fatalf("server saw %d connections, want 1 reused", n)
	}

	tg.CloseConns()
	if n := tg.OpenConns(); n != 0 {
		t.Errorf("OpenConns() = %d after CloseConns", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, closed := serverConns(); closed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not see the connection close")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The target refuses new connections: the next request fails without
	// reaching the server.
	err := requestAfterClose(t, p)
	if err == nil {
		t.Fatal("request after CloseConns succeeded")
	}
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("request after CloseConns failed with %v, want net.ErrClosed", err)
	}
	if n, _ := serverConns(); n != 1 {
		t.Errorf("server served requests on %d connections, want no new one", n)
	}
	if n := tg.OpenConns(); n != 0 {
		t.Errorf("OpenConns() = %d after a refused dial", n)
	}
}

// requestAfterClose sends a request through p after its target's
// CloseConns. It skips the test if the dial deadlocks: the target's mutex is
// then held forever, so the caller must not touch the target again.
func requestAfterClose(t *testing.T, p *Pool) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	resp, err := get(ctx, p, "/")
	if err == nil {
		resp.Body.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("regression: a dial to a target after CloseConns deadlocks: target.TrackConn calls c.Close() while " +
			"holding t.mu and upstream conn.Close calls t.UntrackConn, which locks t.mu again; the request " +
			"hangs until its context ends and the target's mutex stays locked forever")
	}
	return err
}

func TestDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tg := targetFor(t, addr)
	p := NewPools().Get(tg, Settings{})
	_, err = getBody(t, p, "/")
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		t.Fatalf("request to a closed port failed with %#v, want a dial *net.OpError", err)
	}
	if n := tg.OpenConns(); n != 0 {
		t.Errorf("OpenConns() = %d", n)
	}
}

// rawServer serves each accepted connection with handle on 127.0.0.1.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestIdleTimeoutHTTP(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	tests := []struct {
		name string
		// serve writes the response, or part of it, and returns.
		serve   func(c net.Conn)
		headers bool // the response headers arrive
	}{
		{
			name: "silent after headers",
			serve: func(c net.Conn) {
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"))
			},
			headers: true,
		},
		{
			name:  "no response headers",
			serve: func(c net.Conn) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn) {
				c.Read(make([]byte, 4096))
				tt.serve(c)
				c.SetReadDeadline(time.Now().Add(time.Second)) // silent for 1s
				io.Copy(io.Discard, c)
			})
			tg := targetFor(t, addr)
			p := NewPools().Get(tg, Settings{IdleTimeout: idle})
			start := time.Now()
			resp, err := get(context.Background(), p, "/")
			if tt.headers {
				if err != nil {
					t.Fatalf("headers: %v", err)
				}
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("request succeeded, want an idle timeout")
			}
			if !isTimeoutErr(err) {
				t.Errorf("error %v is not a timeout", err)
			}
			if elapsed < idle-50*time.Millisecond || elapsed > idle+400*time.Millisecond {
				t.Errorf("failed after %v, want about %v", elapsed, idle)
			}
			p.Transport.CloseIdleConnections()
			waitConns(t, tg, 0)
		})
	}
}

func waitConns(t *testing.T, tg *target.Target, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for tg.OpenConns() != want {
		if time.Now().After(deadline) {
			t.Fatalf("OpenConns() = %d, want %d", tg.OpenConns(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// tunnel dials a tracked connection through the pool, as a WebSocket
// upgrade does, to a server that reads everything and never writes.
func tunnel(t *testing.T, idle time.Duration) (net.Conn, *target.Target) {
	t.Helper()
	addr := rawServer(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
	})
	tg := targetFor(t, addr)
	p := NewPools().Get(tg, Settings{IdleTimeout: idle})
	c, err := p.Transport.DialContext(context.Background(), "tcp", "ignored")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if n := tg.OpenConns(); n != 1 {
		t.Fatalf("OpenConns() = %d after dial, want 1", n)
	}
	return c, tg
}

type readResult struct {
	at  time.Time
	err error
}

func readOnce(c net.Conn) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		ch <- readResult{time.Now(), err}
	}()
	return ch
}

// writeFor writes a byte every period for d and returns when the last write
// returned.
func writeFor(t *testing.T, c net.Conn, period, d time.Duration, read <-chan readResult) time.Time {
	t.Helper()
	tick := time.NewTicker(period)
	defer tick.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		select {
		case r := <-read:
			t.Fatalf("Read returned %v while writes were flowing", r.err)
		case <-tick.C:
		}
		if _, err := c.Write([]byte{'x'}); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	return time.Now()
}

func TestIdleTimeoutTunnelWritesKeepAlive(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	c, tg := tunnel(t, idle)
	read := readOnce(c)
	lastWrite := writeFor(t, c, 100*time.Millisecond, time.Second, read)

	select {
	case r := <-read:
		if !isTimeoutErr(r.err) {
			t.Errorf("Read failed with %v, want a timeout", r.err)
		}
		// The read deadline is only re-armed when the previous one expires,
		// so the read may outlive the last write by up to twice the idle
		// timeout (see TestIdleTimeoutTunnelPrecise).
		if quiet := r.at.Sub(lastWrite); quiet < idle-50*time.Millisecond || quiet > 2*idle+200*time.Millisecond {
			t.Errorf("Read timed out %v after the last write, want between %v and %v", quiet, idle, 2*idle)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Read never timed out after writes stopped")
	}
	c.Close()
	waitConns(t, tg, 0)
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestIdleTimeoutTunnelPrecise pins that a tunnel on which nothing moved for
// the idle timeout is closed after the idle timeout, not up to twice that.
func TestIdleTimeoutTunnelPrecise(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	c, _ := tunnel(t, idle)
	read := readOnce(c)
	// Read's deadline expires at about idle, 2*idle, ... after it started
	// and is re-armed for a full idle period whenever a write happened in
	// the last one. A write at idle/2 keeps the first expiry from firing; a
	// last write just after it leaves almost 2*idle to the next expiry that
	// finds the conn quiet.
	start := time.Now()
	time.Sleep(idle / 2)
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(start.Add(idle + 30*time.Millisecond)))
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	lastWrite := time.Now()
	r := <-read
	quiet := r.at.Sub(lastWrite)
	t.Logf("read started %v before the last write and timed out %v after it", lastWrite.Sub(start), quiet)
	if quiet > idle+100*time.Millisecond {
		t.Fatalf("regression: upstream conn.Read re-arms its deadline to now+idle only when the previous one expires, "+
			"so a tunnel idle for %v is closed only after %v (idle timeout can stretch to ~2x)", idle, quiet)
	}
}

// TestIdleTimeoutBlockedWriteWithReads pins that a write blocked by a target
// that does not read is not an idle connection while the target keeps
// sending: data moves in one direction.
func TestIdleTimeoutBlockedWriteWithReads(t *testing.T) {
	t.Parallel()
	const idle = 300 * time.Millisecond
	stop := make(chan struct{})
	defer close(stop)
	addr := rawServer(t, func(c net.Conn) {
		// Send a byte every 50ms and never read.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.Write([]byte{'y'}); err != nil {
					return
				}
			}
		}
	})
	tg := targetFor(t, addr)
	p := NewPools().Get(tg, Settings{IdleTimeout: idle})
	c, err := p.Transport.DialContext(context.Background(), "tcp", "ignored")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reads atomic.Int64
	go func() {
		b := make([]byte, 64)
		for {
			n, err := c.Read(b)
			reads.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	// Fill the socket buffers; the Write then blocks.
	big := make([]byte, 64<<20)
	start := time.Now()
	done := make(chan error, 1)
	go func() { _, err := c.Write(big); done <- err }()
	select {
	case err := <-done:
		t.Logf("Write returned %v after %v with %d bytes read meanwhile", err, time.Since(start), reads.Load())
		if isTimeoutErr(err) && reads.Load() > 0 {
			t.Fatal("regression: upstream conn.Write times out after the idle timeout even though reads on the same " +
				"connection are active; only Read treats activity in the other direction as not idle")
		}
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
	case <-time.After(3 * idle):
		// Still blocked while reads flow: the idle timeout did not fire.
	}
}

func TestH2C(t *testing.T) {
	var proto atomic.Int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			proto.Store(int32(r.ProtoMajor))
			io.WriteString(w, "h2c")
		}),
		ErrorLog: quietLog(),
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	tests := []struct {
		name      string
		s         Settings
		wantMajor int
	}{
		{"HTTP2 without TLS speaks h2c", Settings{HTTP2: true}, 2},
		{"HTTP1", Settings{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := targetFor(t, ln.Addr().String())
			p := NewPools().Get(tg, tt.s)
			defer p.Transport.CloseIdleConnections()
			resp, err := get(context.Background(), p, "/")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != tt.wantMajor || int(proto.Load()) != tt.wantMajor {
				t.Errorf("client saw HTTP/%d, server saw HTTP/%d, want %d", resp.ProtoMajor, proto.Load(), tt.wantMajor)
			}
			if n := tg.OpenConns(); n != 1 {
				t.Errorf("OpenConns() = %d, want 1", n)
			}
		})
	}
}

func TestHTTPS(t *testing.T) {
	tests := []struct {
		name      string
		http2     bool
		wantMajor int
	}{
		{"HTTP/1.1 over TLS", false, 1},
		{"HTTP/2 over TLS", true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var proto atomic.Int32
			var tlsSeen atomic.Bool
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				proto.Store(int32(r.ProtoMajor))
				tlsSeen.Store(r.TLS != nil)
				io.WriteString(w, "secure")
			}))
			srv.EnableHTTP2 = true
			srv.Config.ErrorLog = quietLog()
			srv.StartTLS()
			defer srv.Close()

			tg := targetFor(t, srv.Listener.Addr().String())
			p := NewPools().Get(tg, Settings{HTTPS: true, HTTP2: tt.http2})
			defer p.Transport.CloseIdleConnections()
			resp, err := get(context.Background(), p, "/")
			if err != nil {
				t.Fatalf("request to a self-signed target: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "secure" || !tlsSeen.Load() {
				t.Errorf("body %q, server saw TLS %v", b, tlsSeen.Load())
			}
			if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
				t.Errorf("response TLS state = %+v", resp.TLS)
			}
			if resp.ProtoMajor != tt.wantMajor || int(proto.Load()) != tt.wantMajor {
				t.Errorf("client saw HTTP/%d, server saw HTTP/%d, want %d", resp.ProtoMajor, proto.Load(), tt.wantMajor)
			}
			if n := tg.OpenConns(); n != 1 {
				t.Errorf("OpenConns() = %d, want the TLS conn tracked", n)
			}
			tg.CloseConns()
			if err := requestAfterClose(t, p); err == nil {
				t.Error("request after CloseConns succeeded")
			}
		})
	}
}
