package health

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/target"
)

func TestProbeRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type seen struct {
		req          *http.Request
		clientClosed bool
		err          error
	}
	ch := make(chan seen, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- seen{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			ch <- seen{err: err}
			return
		}
		// No "Connection: close" from us: closing is the prober's job.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		_, err = br.ReadByte()
		ch <- seen{req: req, clientClosed: err == io.EOF}
	}()

	f := newFixture(t)
	// The traffic port is closed; Settings.Port points the checks at ln.
	tg := newTarget(t, f.clk, closedAddr(t))
	port := ln.Addr().(*net.TCPAddr).Port
	f.sync1(settings(func(s *Settings) { s.Port = port; s.Path = "/healthz?deep=1" }), tg)
	f.tick(0)
	f.want(tg, target.StateHealthy, target.ReasonNone)

	s := <-ch
	if s.err != nil {
		t.Fatal(s.err)
	}
	r := s.req
	if r.Method != http.MethodGet || r.RequestURI != "/healthz?deep=1" {
		t.Errorf("request line = %s %s", r.Method, r.RequestURI)
	}
	if want := ln.Addr().String(); r.Host != want {
		t.Errorf("Host = %q, want %q", r.Host, want)
	}
	if got := r.Header.Get("User-Agent"); got != "ELB-HealthChecker/2.0" {
		t.Errorf("User-Agent = %q", got)
	}
	if !r.Close {
		t.Error("request does not ask to close the connection")
	}
	if !s.clientClosed {
		t.Error("prober left the connection open")
	}
}

// closedAddr returns a 127.0.0.1 address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestConnectionRefused(t *testing.T) {
	f := newFixture(t)
	tg := newTarget(t, f.clk, closedAddr(t))
	f.sync1(settings(), tg)
	f.tick(0)
	f.tick()
	h := f.want(tg, target.StateUnhealthy, target.ReasonFailedHealthChecks)
	if h.Description != "Health checks failed: connection refused" {
		t.Errorf("description = %q", h.Description)
	}
	var ce *CheckError
	if err := f.m.CheckNow(t.Context(), tg); !errors.As(err, &ce) || ce.Reason != target.ReasonFailedHealthChecks {
		t.Errorf("CheckNow = %v, want a CheckError with Target.FailedHealthChecks", err)
	}
}

func TestTimeout(t *testing.T) {
	f := newFixture(t)
	addr, _ := hangingListener(t)
	tg := newTarget(t, f.clk, addr)
	f.sync1(settings(func(s *Settings) { s.Timeout = 200 * time.Millisecond }), tg)
	start := time.Now()
	f.tick(0)
	f.tick()
	h := f.want(tg, target.StateUnhealthy, target.ReasonTimeout)
	if h.Description != "Request timed out" {
		t.Errorf("description = %q", h.Description)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("two probes took %v, less than two timeouts", el)
	}
}

func TestTimeoutReadingBody(t *testing.T) {
	f := newFixture(t)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer b.Close()
	tg := newTarget(t, f.clk, b.Listener.Addr().String())
	f.sync1(settings(func(s *Settings) { s.Timeout = 200 * time.Millisecond }), tg)
	f.tick(0)
	f.tick()
	f.want(tg, target.StateUnhealthy, target.ReasonTimeout)
}

func TestHTTPS(t *testing.T) {
	f := newFixture(t)
	uas := make(chan string, 10)
	b := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uas <- r.Header.Get("User-Agent")
		io.WriteString(w, strings.Repeat("x", 10<<10)) // longer than a probe reads
	}))
	defer b.Close()
	tg := newTarget(t, f.clk, b.Listener.Addr().String())
	f.sync1(settings(func(s *Settings) { s.Protocol = "HTTPS" }), tg)
	f.tick(0)
	f.want(tg, target.StateHealthy, target.ReasonNone)
	if ua := <-uas; ua != UserAgent {
		t.Errorf("User-Agent = %q", ua)
	}

	// Plain HTTP against a TLS port fails the check.
	f.sync1(settings(func(s *Settings) { s.Protocol = "HTTP" }), tg)
	f.tick()
	f.tick()
	f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch) // Go's TLS server answers 400
}

func TestUnsupportedProtocol(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.Protocol = "TCP" }), tg)
	f.tick(0)
	f.tick()
	h := f.want(tg, target.StateUnhealthy, target.ReasonFailedHealthChecks)
	if !strings.Contains(h.Description, `unsupported protocol "TCP"`) {
		t.Errorf("description = %q", h.Description)
	}
}

func TestCustomDial(t *testing.T) {
	b := newBackend(t, 200)
	dialed := make(chan string, 10)
	f := newFixture(t)
	f.m = NewManager(Options{Clock: f.clk, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed <- addr
		var d net.Dialer
		return d.DialContext(ctx, network, b.addr())
	}})
	defer f.m.Close()
	tg := target.New(target.Key{Group: "g", ID: "backend.internal", Port: 8080}, f.clk.Now())
	f.sync1(settings(), tg)
	f.tick(0)
	f.want(tg, target.StateHealthy, target.ReasonNone)
	if addr := <-dialed; addr != "backend.internal:8080" || len(dialed) != 0 {
		t.Errorf("dialed %q, then %d more", addr, len(dialed))
	}
}
