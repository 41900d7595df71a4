package certmgr_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/certmgr"
	"github.com/sluicelb/sluice/internal/config"
)

// getCertFunc is the handshake callback GetCertificateFunc returns.
type getCertFunc = func(*tls.ClientHelloInfo) (*tls.Certificate, error)

// handshake runs a real TLS handshake on a 127.0.0.1 connection, the
// server choosing its certificate with getCert, and returns the leaf the
// client received. A client without SNI is matched by the address it
// connected to. The error carries the server's side when it failed too.
func handshake(getCert getCertFunc, client *tls.Config) (*x509.Certificate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	sc, ok := <-accepted
	if !ok {
		cc.Close()
		return nil, errors.New("accept failed")
	}
	return handshakeOver(sc, cc, getCert, client)
}

func handshakeOver(sc, cc net.Conn, getCert getCertFunc, client *tls.Config) (*x509.Certificate, error) {
	deadline := time.Now().Add(10 * time.Second)
	sc.SetDeadline(deadline)
	cc.SetDeadline(deadline)
	srv := tls.Server(sc, &tls.Config{GetCertificate: getCert})
	errc := make(chan error, 1)
	go func() {
		err := srv.Handshake()
		sc.Close()
		errc <- err
	}()
	cl := tls.Client(cc, client)
	err := cl.Handshake()
	cc.Close()
	serr := <-errc
	switch {
	case err != nil && serr != nil:
		return nil, fmt.Errorf("%w (server: %v)", err, serr)
	case err != nil:
		return nil, err
	case serr != nil:
		return nil, fmt.Errorf("server: %w", serr)
	}
	return cl.ConnectionState().PeerCertificates[0], nil
}

// logBuffer collects what a Manager logs as JSON lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logLine is one decoded log line: "level", "msg" and the attributes.
type logLine map[string]any

func (l logLine) msg() string { s, _ := l["msg"].(string); return s }

// lines returns every line logged so far.
func (l *logBuffer) lines(t *testing.T) []logLine {
	t.Helper()
	var out []logLine
	for _, s := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if s == "" {
			continue
		}
		var line logLine
		if err := json.Unmarshal([]byte(s), &line); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, line)
	}
	return out
}

// match returns the lines logged at level whose message contains msg.
func (l *logBuffer) match(t *testing.T, level slog.Level, msg string) []logLine {
	t.Helper()
	var out []logLine
	for _, line := range l.lines(t) {
		if line["level"] == level.String() && strings.Contains(line.msg(), msg) {
			out = append(out, line)
		}
	}
	return out
}

// newManager returns a manager logging into the returned logs, closed when
// t ends. Without DataDir or Storage it gets a fresh data dir.
func newManager(t *testing.T, o certmgr.Options) (*certmgr.Manager, *logBuffer) {
	t.Helper()
	l := &logBuffer{}
	o.Logger = slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.DataDir == "" && o.Storage == nil {
		o.DataDir = t.TempDir()
	}
	m, err := certmgr.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		if t.Failed() {
			t.Logf("manager logs:\n%s", l)
		}
	})
	return m, l
}

// configYAML is a config with one HTTPS listener serving listed, followed
// by certsYAML: the entries of its certificates list.
func configYAML(listed []string, certsYAML string) string {
	return `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTPS
        port: 8443
        certificates: [` + strings.Join(listed, ", ") + `]
        default_actions:
          - type: fixed-response
            fixed_response: { status_code: "200" }
certificates:
` + certsYAML
}

// decodeConfig decodes yaml as the file dir/sluice.yaml, so that relative
// paths in it resolve against dir.
func decodeConfig(t *testing.T, dir, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Decode(filepath.Join(dir, "sluice.yaml"), []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return cfg
}

// commit prepares and commits cfg.
func commit(t *testing.T, m *certmgr.Manager, cfg *config.Config) *certmgr.Set {
	t.Helper()
	set, err := m.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Commit(set)
	return set
}

func getCertificateFunc(t *testing.T, set *certmgr.Set, names ...string) getCertFunc {
	t.Helper()
	f, err := set.GetCertificateFunc(names)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSelectorMixedSources pins how one listener chooses among certificates
// from files and from the local CA: ALB's order (exact name before
// wildcard, then ECDSA before RSA) across sources, and the listener's
// first certificate when no name matches.
func TestSelectorMixedSources(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	file := ca.issue(t, time.Now().Add(90*24*time.Hour), true, "exact.example.com")
	if err := os.WriteFile(filepath.Join(dir, "exact.pem"), file.fullchain(ca), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "exact.key"), file.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	names := []string{"file-exact", "int-exact", "int-wild"}
	cfg := decodeConfig(t, dir, configYAML(names, `
  - name: file-exact
    cert_file: exact.pem
    key_file: exact.key
  - name: int-exact
    source: internal
    domains: [exact.example.com]
  - name: int-wild
    source: internal
    domains: ["*.example.com"]
`))
	m, _ := newManager(t, certmgr.Options{})
	set := commit(t, m, cfg)

	// which names the entry a served leaf comes from.
	which := func(leaf *x509.Certificate) string {
		switch {
		case leaf.Issuer.CommonName == ca.inter.Subject.CommonName:
			if _, ok := leaf.PublicKey.(*rsa.PublicKey); !ok {
				return "file certificate without an RSA key"
			}
			return "file-exact"
		case !strings.HasPrefix(leaf.Issuer.CommonName, "sluice local CA"):
			return "unknown issuer " + leaf.Issuer.CommonName
		case len(leaf.DNSNames) != 1:
			return fmt.Sprintf("internal leaf for %v", leaf.DNSNames)
		case leaf.DNSNames[0] == "*.example.com":
			return "int-wild"
		case leaf.DNSNames[0] == "exact.example.com":
			if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
				return "internal certificate without an ECDSA key"
			}
			return "int-exact"
		}
		return fmt.Sprintf("internal leaf for %v", leaf.DNSNames)
	}
	rsaOnly := &tls.Config{
		InsecureSkipVerify: true,
		MaxVersion:         tls.VersionTLS12,
		CipherSuites:       []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	}
	tests := []struct {
		name     string
		listener []string
		sni      string
		client   *tls.Config // nil: a default client
		want     string
	}{
		{"ECDSA preferred over RSA", []string{"file-exact", "int-exact"}, "exact.example.com", nil, "int-exact"},
		{"ECDSA preferred whatever the order", []string{"int-exact", "file-exact"}, "exact.example.com", nil, "int-exact"},
		{"RSA for a client without ECDSA", []string{"int-exact", "file-exact"}, "exact.example.com", rsaOnly, "file-exact"},
		{"exact RSA beats wildcard ECDSA", []string{"int-wild", "file-exact"}, "exact.example.com", nil, "file-exact"},
		{"wildcard for another name", []string{"file-exact", "int-wild"}, "other.example.com", nil, "int-wild"},
		{"wildcard covers one label only", []string{"file-exact", "int-wild"}, "a.b.example.com", nil, "file-exact"},
		{"no SNI: first file certificate", []string{"file-exact", "int-wild"}, "", nil, "file-exact"},
		{"no SNI: first internal certificate", []string{"int-wild", "file-exact"}, "", nil, "int-wild"},
		{"unknown name: first file certificate", []string{"file-exact", "int-exact"}, "unknown.test", nil, "file-exact"},
		{"unknown name: first internal certificate", []string{"int-exact", "file-exact"}, "unknown.test", nil, "int-exact"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := tt.client
			if client == nil {
				client = &tls.Config{InsecureSkipVerify: true}
			}
			client = client.Clone()
			client.ServerName = tt.sni
			var sawSNI string
			get := getCertificateFunc(t, set, tt.listener...)
			leaf, err := handshake(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
				sawSNI = h.ServerName
				return get(h)
			}, client)
			if err != nil {
				t.Fatal(err)
			}
			if sawSNI != tt.sni {
				t.Fatalf("server saw SNI %q, want %q", sawSNI, tt.sni)
			}
			if got := which(leaf); got != tt.want {
				t.Errorf("served %s (%v, issuer %q), want %s", got, leaf.DNSNames, leaf.Issuer.CommonName, tt.want)
			}
		})
	}
}

func TestGetCertificateFuncUnknownName(t *testing.T) {
	dir := t.TempDir()
	cfg := decodeConfig(t, dir, configYAML([]string{"site"}, `
  - name: site
    source: internal
    domains: [site.test]
`))
	m, _ := newManager(t, certmgr.Options{})
	set := commit(t, m, cfg)
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{"unknown", []string{"nope"}, `certificate "nope" is not defined`},
		{"unknown after a known one", []string{"site", "nope"}, `certificate "nope" is not defined`},
		{"none", nil, "no certificates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := set.GetCertificateFunc(tt.names)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("GetCertificateFunc(%q) = %v, want error %q", tt.names, err, tt.want)
			}
			if f != nil {
				t.Errorf("GetCertificateFunc(%q) returned a callback with its error", tt.names)
			}
		})
	}
}
