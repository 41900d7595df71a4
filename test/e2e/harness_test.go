// Package e2e tests sluice as a whole over real sockets on 127.0.0.1: real
// backends, real clients, the real server applying real config files.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"github.com/sluicelb/sluice/internal/acmetest"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/sluicelb/sluice/internal/certs"
	"github.com/sluicelb/sluice/internal/server"
	"github.com/sluicelb/sluice/internal/target"
)

// engineFlag runs the suite against one HTTP/1.1 engine: go test ./test/e2e
// -args -engine=nethttp. Empty means the server's default.
var engineFlag = flag.String("engine", "", "HTTP/1.1 engine to test: h1 or nethttp (default: the server's default)")

// env is one running sluice with its config file.
type env struct {
	t    *testing.T
	dir  string
	file string
	srv  *server.Server
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// vars are the values a config template can use: {{.P1}}… are free ports
// for listeners, {{.B1}}… backend ports, {{.Cert}}/{{.Key}} a localhost
// certificate.
type vars map[string]any

// render fills a config template.
func render(t *testing.T, text string, v vars) string {
	t.Helper()
	tmpl, err := template.New("cfg").Option("missingkey=error").Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// newVars returns n free listener ports P1..Pn and a certificate.
func newVars(t *testing.T, n int) vars {
	t.Helper()
	v := vars{}
	for i := 1; i <= n; i++ {
		v["P"+strconv.Itoa(i)] = freePort(t)
	}
	dir := t.TempDir()
	c, k, err := certs.WriteSelfSigned(dir, "localhost", []string{"localhost", "127.0.0.1"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v["Cert"], v["Key"] = c, k
	return v
}

// TestMain sets the environment the embedded ACME CA reads.
func TestMain(m *testing.M) {
	acmetest.Setenv()
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath)) // the binary sluiceBinary built
	}
	os.Exit(code)
}

// start writes cfg and serves it. The server shuts down at test end.
func start(t *testing.T, cfg string) *env {
	t.Helper()
	return startWith(t, cfg, nil)
}

// startWith is start with server options adjusted by opts.
func startWith(t *testing.T, cfg string, opts func(*server.Options)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	e.file = filepath.Join(e.dir, "sluice.yaml")
	if err := os.WriteFile(e.file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o := server.Options{DataDir: filepath.Join(e.dir, "data"), Logger: log, Engine: *engineFlag}
	if opts != nil {
		opts(&o)
	}
	srv, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ApplyFile(e.file); err != nil {
		t.Fatalf("applying config: %v", err)
	}
	e.srv = srv
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if t.Failed() {
			t.Logf("sluice log:\n%s", e.logs.String())
		}
	})
	return e
}

// reload writes cfg and applies it, returning the apply error.
func (e *env) reload(cfg string) error {
	if err := os.WriteFile(e.file, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return e.srv.ApplyFile(e.file)
}

// waitHealthy waits until n targets of group are healthy.
func (e *env) waitHealthy(group string, n int) {
	e.t.Helper()
	waitFor(e.t, 10*time.Second, fmt.Sprintf("%d healthy targets in %s", n, group), func() bool {
		return e.countState(group, target.StateHealthy) >= n
	})
}

func (e *env) countState(group string, st target.State) int {
	tg := e.srv.Snapshot().TargetGroups[group]
	if tg == nil {
		return 0
	}
	c := 0
	for _, t := range tg.Group.Targets {
		if t.Health().State == st {
			c++
		}
	}
	return c
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// freePort returns a port free on 127.0.0.1 that no other test of this run
// got: the kernel may hand out a just-closed port again.
func freePort(t *testing.T) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		portsMu.Lock()
		taken := ports[p]
		ports[p] = true
		portsMu.Unlock()
		if !taken {
			return p
		}
	}
}

// backend is a real HTTP server on 127.0.0.1 that names itself in the
// X-Backend response header and body.
type backend struct {
	name string
	port int
	srv  *http.Server
	ln   net.Listener
	mu   sync.Mutex
	reqs []*http.Request
	hits int
}

func newBackend(t *testing.T, name string, h http.HandlerFunc) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, port: ln.Addr().(*net.TCPAddr).Port, ln: ln}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.Write([]byte("ok"))
			return
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, r)
		b.hits++
		b.mu.Unlock()
		w.Header().Set("X-Backend", name)
		if h != nil {
			h(w, r)
			return
		}
		io.WriteString(w, name)
	}), ReadHeaderTimeout: 5 * time.Second}
	go b.srv.Serve(ln)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

func (b *backend) last() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		return nil
	}
	return b.reqs[len(b.reqs)-1]
}

// client is an HTTP client that trusts any certificate and does not follow
// redirects.
func client() *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
			MaxIdleConnsPerHost: 64,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches url and returns the status and body.
func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// rawRequest writes raw bytes to addr and returns the status line's code and
// the full response text.
func rawRequest(t *testing.T, addr string, raw string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, _ := io.ReadAll(c)
	s := string(resp)
	code := 0
	if len(s) >= 12 {
		code, _ = strconv.Atoi(s[9:12])
	}
	return code, s
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// skipOnNetHTTP skips a test of behaviour only sluice's own engine has.
func skipOnNetHTTP(t *testing.T, why string) {
	t.Helper()
	if *engineFlag == "nethttp" {
		t.Skip("nethttp engine: " + why)
	}
}
