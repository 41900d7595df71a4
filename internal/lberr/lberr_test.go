package lberr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen returns a listener on 127.0.0.1 that is closed at the end of the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// serve runs handle for each connection accepted on a fresh listener and
// returns its address.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedAddr returns a 127.0.0.1 address nothing listens on.
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

func get(t *testing.T, ctx context.Context, tr *http.Transport, url string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatalf("GET %s succeeded with %s", url, resp.Status)
		}
	}
	return err
}

func newTransport(t *testing.T) *http.Transport {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// A server that reads the request and hangs up without a response.
func hangUp(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	c.Read(make([]byte, 4096))
}

// A server that reads the request and never answers, until the client
// hangs up.
func silent(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c)
}

// A plain TCP server that answers a TLS ClientHello with garbage.
func garbage(c net.Conn) {
	c.Write([]byte("this is not TLS at all\r\n\r\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c)
}

func TestClassifyRealErrors(t *testing.T) {
	tests := []struct {
		name        string
		err         func(t *testing.T) error
		want        *Failure
		wantConnect bool
	}{
		{
			name: "dial refused",
			err: func(t *testing.T) error {
				_, err := net.Dial("tcp", closedAddr(t))
				return err
			},
			want:        ErrTargetConnect,
			wantConnect: true,
		},
		{
			name: "dial refused through transport",
			err: func(t *testing.T) error {
				return get(t, context.Background(), newTransport(t), "http://"+closedAddr(t)+"/")
			},
			want:        ErrTargetConnect,
			wantConnect: true,
		},
		{
			name: "dial with expired deadline",
			err: func(t *testing.T) error {
				ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
				defer cancel()
				ln := listen(t)
				_, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
				var op *net.OpError
				if !errors.As(err, &op) || op.Op != "dial" || !op.Timeout() {
					t.Fatalf("dial with an expired deadline gave %#v, want a dial *net.OpError timeout", err)
				}
				return err
			},
			want:        ErrTargetConnTimeout,
			wantConnect: true,
		},
		{
			name: "read deadline on established conn",
			err: func(t *testing.T) error {
				addr := serve(t, silent)
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				_, err = c.Read(make([]byte, 1))
				return err
			},
			want: ErrTargetTimeout,
		},
		{
			name: "response header timeout through transport",
			err: func(t *testing.T) error {
				addr := serve(t, silent)
				tr := newTransport(t)
				tr.ResponseHeaderTimeout = 50 * time.Millisecond
				return get(t, context.Background(), tr, "http://"+addr+"/")
			},
			want: ErrTargetTimeout,
		},
		{
			name: "request deadline through transport",
			err: func(t *testing.T) error {
				addr := serve(t, silent)
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				return get(t, ctx, newTransport(t), "http://"+addr+"/")
			},
			want: ErrTargetTimeout,
		},
		{
			name: "context canceled",
			err:  func(t *testing.T) error { return context.Canceled },
			want: ErrClientClosed,
		},
		{
			name: "wrapped context canceled",
			err:  func(t *testing.T) error { return fmt.Errorf("proxying: %w", context.Canceled) },
			want: ErrClientClosed,
		},
		{
			name: "client canceled request through transport",
			err: func(t *testing.T) error {
				addr := serve(t, silent)
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				return get(t, ctx, newTransport(t), "http://"+addr+"/")
			},
			want: ErrClientClosed,
		},
		{
			name: "client canceled during dial through transport",
			err: func(t *testing.T) error {
				ln := listen(t)
				tr := newTransport(t)
				tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					<-ctx.Done() // a dial that is still in progress when the client goes away
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				}
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				return get(t, ctx, tr, "http://"+ln.Addr().String()+"/")
			},
			want: ErrClientClosed,
		},
		{
			name: "server closes without answering",
			err: func(t *testing.T) error {
				addr := serve(t, hangUp)
				return get(t, context.Background(), newTransport(t), "http://"+addr+"/")
			},
			want: ErrTargetResponse,
		},
		{
			name: "server resets the connection",
			err: func(t *testing.T) error {
				addr := serve(t, func(c net.Conn) {
					hangUp(c)
					c.(*net.TCPConn).SetLinger(0)
				})
				return get(t, context.Background(), newTransport(t), "http://"+addr+"/")
			},
			want: ErrTargetResponse,
		},
		{
			name: "malformed response",
			err: func(t *testing.T) error {
				addr := serve(t, func(c net.Conn) {
					c.Read(make([]byte, 4096))
					c.Write([]byte("HTTP/1.1 abc nope\r\n\r\n"))
				})
				return get(t, context.Background(), newTransport(t), "http://"+addr+"/")
			},
			want: ErrTargetResponse,
		},
		{
			name: "TLS handshake with a plain server sending garbage",
			err: func(t *testing.T) error {
				addr := serve(t, garbage)
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				return tls.Client(c, &tls.Config{InsecureSkipVerify: true}).Handshake()
			},
			want: ErrTargetTLS,
		},
		{
			name: "TLS garbage through transport",
			err: func(t *testing.T) error {
				addr := serve(t, garbage)
				return get(t, context.Background(), newTransport(t), "https://"+addr+"/")
			},
			want: ErrTargetTLS,
		},
		{
			name: "TLS certificate not trusted",
			err: func(t *testing.T) error {
				srv := httptest.NewUnstartedServer(http.NotFoundHandler())
				srv.Config.ErrorLog = log.New(io.Discard, "", 0)
				srv.StartTLS()
				t.Cleanup(srv.Close)
				tr := newTransport(t)
				tr.TLSClientConfig = &tls.Config{}
				return get(t, context.Background(), tr, srv.URL)
			},
			want: ErrTargetTLS,
		},
		{
			name: "wrapped failure",
			err:  func(t *testing.T) error { return fmt.Errorf("routing: %w", ErrNoTargets) },
			want: ErrNoTargets,
		},
		{
			name: "failure",
			err:  func(t *testing.T) error { return ErrTooManyXFF },
			want: ErrTooManyXFF,
		},
		{
			name: "unknown error",
			err:  func(t *testing.T) error { return errors.New("something odd") },
			want: ErrTargetResponse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if err == nil {
				t.Fatal("operation did not fail")
			}
			got := Classify(err)
			if got != tt.want {
				t.Errorf("Classify(%v) = %d %s, want %d %s", err, got.Code, got.Reason, tt.want.Code, tt.want.Reason)
			}
			if s := Status(err); s != tt.want.Code {
				t.Errorf("Status(%v) = %d, want %d", err, s, tt.want.Code)
			}
			if c := IsConnectFailure(err); c != tt.wantConnect {
				t.Errorf("IsConnectFailure(%v) = %v, want %v", err, c, tt.wantConnect)
			}
		})
	}
}

// A client that gives up while the load balancer is still connecting is not
// a sign that the target is down: it must not eject the target, and it is
// reported as 460.
func TestDialCanceledByClient(t *testing.T) {
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" || !errors.Is(err, context.Canceled) {
		t.Fatalf("dial with a canceled context gave %#v, want a dial *net.OpError wrapping context.Canceled", err)
	}
	if f := Classify(err); f != ErrClientClosed {
		t.Errorf("Classify(%v) = %s, want %s", err, f.Reason, ErrClientClosed.Reason)
	}
	if IsConnectFailure(err) {
		t.Fatal("regression: IsConnectFailure is true for a dial canceled by the client " +
			"(net.OpError{Op: \"dial\", Err: context.Canceled}), which is not refused, unreachable or timed out; " +
			"http.Transport currently hides it by returning the context error, but any other dialer path would Eject a healthy target")
	}
}

// TestFailuresComplete checks every exported Err* variable declared in the
// package source, so that a new one cannot be added without a reason and a
// message.
func TestFailuresComplete(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "lberr.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !name.IsExported() || !strings.HasPrefix(name.Name, "Err") {
					continue
				}
				n++
				t.Run(name.Name, func(t *testing.T) {
					if i >= len(vs.Values) {
						t.Fatal("declared without a value")
					}
					reason, msg, ok := failureLiteral(vs.Values[i])
					if !ok {
						t.Fatalf("value is not a &Failure{...} literal with string Reason and Msg: %s", fset.Position(vs.Values[i].Pos()))
					}
					if reason == "" || msg == "" {
						t.Errorf("Reason %q, Msg %q: want both non-empty", reason, msg)
					}
					if other, dup := reasons[reason]; dup {
						t.Errorf("shares Reason %q with %s", reason, other)
					}
					reasons[reason] = name.Name
				})
			}
		}
	}
	if n < 17 {
		t.Errorf("found %d exported Err* variables in lberr.go, want at least 17", n)
	}
}

// failureLiteral extracts Reason and Msg from &Failure{Code, Reason, Msg} or
// &Failure{Code: ..., Reason: ..., Msg: ...}.
func failureLiteral(e ast.Expr) (reason, msg string, ok bool) {
	u, isUnary := e.(*ast.UnaryExpr)
	if !isUnary || u.Op != token.AND {
		return "", "", false
	}
	cl, isLit := u.X.(*ast.CompositeLit)
	if id, isIdent := cl.Type.(*ast.Ident); !isLit || !isIdent || id.Name != "Failure" {
		return "", "", false
	}
	str := func(e ast.Expr) (string, bool) {
		bl, ok := e.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(bl.Value)
		return s, err == nil
	}
	var okR, okM bool
	for i, el := range cl.Elts {
		if kv, isKV := el.(*ast.KeyValueExpr); isKV {
			switch kv.Key.(*ast.Ident).Name {
			case "Reason":
				reason, okR = str(kv.Value)
			case "Msg":
				msg, okM = str(kv.Value)
			}
			continue
		}
		switch i {
		case 1:
			reason, okR = str(el)
		case 2:
			msg, okM = str(el)
		}
	}
	return reason, msg, okR && okM
}

func TestFailureValues(t *testing.T) {
	tests := []struct {
		name string
		f    *Failure
		code int
	}{
		{"ErrMalformed", ErrMalformed, 400},
		{"ErrHeaderTooLarge", ErrHeaderTooLarge, 400},
		{"ErrMethodNotAllowed", ErrMethodNotAllowed, 405},
		{"ErrURITooLong", ErrURITooLong, 414},
		{"ErrTooManyXFF", ErrTooManyXFF, 463},
		{"ErrProtocolMismatch", ErrProtocolMismatch, 464},
		{"ErrUnsupportedTE", ErrUnsupportedTE, 501},
		{"ErrNoTargets", ErrNoTargets, 503},
		{"ErrVersion", ErrVersion, 505},
		{"ErrClientClosed", ErrClientClosed, 460},
		{"ErrTargetConnect", ErrTargetConnect, 502},
		{"ErrTargetConnTimeout", ErrTargetConnTimeout, 504},
		{"ErrTargetTimeout", ErrTargetTimeout, 504},
		{"ErrTargetTLS", ErrTargetTLS, 502},
		{"ErrTargetResponse", ErrTargetResponse, 502},
		{"ErrInternal", ErrInternal, 500},
		{"ErrClientTLSHandshake", ErrClientTLSHandshake, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.f.Code != tt.code {
				t.Errorf("Code = %d, want %d", tt.f.Code, tt.code)
			}
			if tt.f.Reason == "" || tt.f.Msg == "" {
				t.Errorf("%+v: want a Reason and a Msg", *tt.f)
			}
			if tt.f.Error() != tt.f.Msg {
				t.Errorf("Error() = %q, want Msg %q", tt.f.Error(), tt.f.Msg)
			}
			if Classify(tt.f) != tt.f || Classify(fmt.Errorf("a: %w", fmt.Errorf("b: %w", tt.f))) != tt.f {
				t.Error("Classify did not return the failure itself")
			}
			if Status(tt.f) != tt.code {
				t.Errorf("Status = %d, want %d", Status(tt.f), tt.code)
			}
		})
	}
}
