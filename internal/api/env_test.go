package api_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/sluicelb/sluice/internal/api"
	"github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/server"
	"github.com/sluicelb/sluice/internal/store"
)

const testToken = "test-token"

// env is one running sluice: server, store, control plane and admin API,
// all stopped at the end of the test (or by stop, for restarts).
type env struct {
	t       *testing.T
	dataDir string
	file    string
	srv     *server.Server
	st      store.Store
	plane   *controlplane.Plane
	api     *httptest.Server
	logs    *syncBuffer
	once    sync.Once
}

type envOptions struct {
	// dataDir is reused across restarts; empty means a new temp dir.
	dataDir string
	// config is the config file's text; empty means no file.
	config string
	// file is an existing config file to use instead of config.
	file string
	// bolt stores state in dataDir/sluice.db instead of memory.
	bolt bool
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, dataDir: o.dataDir, logs: &syncBuffer{}}
	if e.dataDir == "" {
		e.dataDir = t.TempDir()
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.file = o.file
	if o.config != "" {
		e.file = filepath.Join(t.TempDir(), "sluice.yaml")
		if err := os.WriteFile(e.file, []byte(o.config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if o.bolt {
		e.st, err = store.OpenBolt(filepath.Join(e.dataDir, "sluice.db"), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		e.st = store.NewMemory()
	}
	e.srv, err = server.New(server.Options{DataDir: e.dataDir, Logger: log})
	if err != nil {
		e.st.Close()
		t.Fatal(err)
	}
	e.plane = controlplane.New(controlplane.Options{Store: e.st, Server: e.srv, DataDir: e.dataDir, File: e.file, Logger: log})
	if err := e.plane.Start(context.Background()); err != nil {
		e.stop()
		t.Fatalf("starting the control plane: %v", err)
	}
	e.api = httptest.NewServer(api.New(api.Options{Plane: e.plane, Runtime: e.srv, Token: testToken, Logger: log}))
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("sluice log:\n%s", e.logs.String())
		}
	})
	return e
}

// stop shuts everything down; it may be called more than once.
func (e *env) stop() {
	e.once.Do(func() {
		if e.api != nil {
			e.api.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
		e.st.Close()
	})
}

// resp is an API answer.
type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, r.raw) }

// errCode returns error.code of an error body.
func (r resp) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r resp) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// fields returns error.fields of an error body.
func (r resp) fields() []map[string]any {
	e, _ := r.body["error"].(map[string]any)
	list, _ := e["fields"].([]any)
	var out []map[string]any
	for _, f := range list {
		out = append(out, f.(map[string]any))
	}
	return out
}

// list returns the objects of the list body under key.
func (r resp) list(key string) []map[string]any {
	var out []map[string]any
	l, _ := r.body[key].([]any)
	for _, v := range l {
		out = append(out, v.(map[string]any))
	}
	return out
}

// do sends body (a string is sent as is, anything else as JSON) with the
// token and any extra headers given as name, value pairs.
func (e *env) do(method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	return doAs(e.t, e.api, testToken, method, path, body, hdr...)
}

// doAs sends a request to srv with token ("" for none).
func doAs(t *testing.T, srv *httptest.Server, token, method, path string, body any, hdr ...string) resp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// The server's own client: its connections close with the server.
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: %d, body is not a JSON object: %v\n%s", method, path, res.StatusCode, err, raw)
		}
	}
	return r
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	r := e.do(method, path, body, hdr...)
	if r.status != want {
		e.t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	return r
}

// wantError checks an error answer's status and code.
func wantError(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status || r.errCode() != code {
		t.Fatalf("got %s, want %d %s", r, status, code)
	}
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

var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// freePort returns a port free on 127.0.0.1 that no other test of this run
// got.
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

// backend is a real HTTP server on 127.0.0.1 answering its name.
type backend struct {
	name string
	port int
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &backend{name: name, port: ln.Addr().(*net.TCPAddr).Port}
}

// get sends GET url through the load balancer on a fresh connection and
// returns the status and body.
func get(url string) (int, string, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// waitBody polls url until it answers 200 with body want.
func waitBody(t *testing.T, url, want string) {
	t.Helper()
	var last string
	waitFor(t, 5*time.Second, "GET "+url+" to answer "+want, func() bool {
		code, body, err := get(url)
		last = fmt.Sprintf("%d %q %v", code, body, err)
		return err == nil && code == 200 && body == want
	}, func() string { return last })
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool, detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			msg := "timed out waiting for " + what
			for _, f := range detail {
				msg += "; last: " + f()
			}
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// selfSigned returns a new self-signed ECDSA certificate for names as
// PEM, with its key and serial number.
func selfSigned(t *testing.T, names ...string) (certPEM, keyPEM string, serial *big.Int) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})), serial
}

// chained returns a certificate for names issued by a new CA, its key,
// and the CA certificate as its chain, all PEM.
func chained(t *testing.T, names ...string) (certPEM, keyPEM, chainPEM string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err = x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
}

// render fills a text template.
func render(t *testing.T, text string, v any) string {
	t.Helper()
	tmpl := template.Must(template.New("cfg").Option("missingkey=error").Parse(text))
	var b strings.Builder
	if err := tmpl.Execute(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fileConfig is a config file declaring one of each resource: load balancer
// filelb with an HTTP listener on .Port and rule filerule, target group
// filetg with one target (the backend on .Backend), and certificate
// filecert.
const fileConfig = `version: 1
load_balancers:
  - name: filelb
    listeners:
      - protocol: HTTP
        port: {{.Port}}
        address: 127.0.0.1
        rules:
          - name: filerule
            priority: 5
            conditions: [{field: path-pattern, values: ["/file/*"]}]
            actions: [{type: fixed-response, fixed_response: {status_code: "200", message_body: file}}]
        default_actions:
          - type: forward
            target_group: filetg
target_groups:
  - name: filetg
    protocol: HTTP
    port: {{.Backend}}
    targets: [{id: 127.0.0.1}]
certificates:
  - name: filecert
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`

type fileVars struct {
	Port, Backend int
	Cert, Key     string
}

// newFileEnv starts an env with fileConfig and returns its variables.
func newFileEnv(t *testing.T) (*env, fileVars) {
	t.Helper()
	cfg, v := newFileEnvVars(t)
	return newEnv(t, envOptions{config: cfg}), v
}

// newFileEnvVars returns fileConfig filled in: a free port, a backend and
// a certificate.
func newFileEnvVars(t *testing.T) (string, fileVars) {
	t.Helper()
	dir := t.TempDir()
	c, k, _ := selfSigned(t, "file.test")
	v := fileVars{Port: freePort(t), Backend: newBackend(t, "file").port,
		Cert: filepath.Join(dir, "file.pem"), Key: filepath.Join(dir, "file.key")}
	if err := os.WriteFile(v.Cert, []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v.Key, []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	return render(t, fileConfig, v), v
}

// lbURL is the HTTP URL of a listener on 127.0.0.1.
func lbURL(port int, path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", port, path) }

// webSetup creates through the API target group app (targets: the
// backends), load balancer web and its HTTP listener on port forwarding to
// app.
func (e *env) webSetup(port int, backends ...*backend) {
	e.t.Helper()
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": 80,
		"attributes": map[string]any{"deregistration_delay": "0s"}})
	if len(backends) > 0 {
		var ts []map[string]any
		for _, b := range backends {
			ts = append(ts, map[string]any{"id": "127.0.0.1", "port": b.port})
		}
		e.must(200, "POST", "/api/v1/target_groups/app/targets", map[string]any{"targets": ts})
	}
	e.must(201, "POST", "/api/v1/load_balancers", map[string]any{"name": "web"})
	e.must(201, "POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": port,
		"address": "127.0.0.1", "default_actions": []any{map[string]any{"type": "forward", "target_group": "app"}}})
}
