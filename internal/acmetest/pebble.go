package acmetest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// pebbleEnv is what Pebble reads from the environment when its WFE and VA
// are built: no random 0–5 s sleep before each validation, no rejected good
// nonces, and no reuse of valid authorizations, so every order validates.
var pebbleEnv = [...]struct{ key, value string }{
	{"PEBBLE_VA_NOSLEEP", "1"},
	{"PEBBLE_WFE_NONCEREJECT", "0"},
	{"PEBBLE_AUTHZREUSE", "0"},
}

// newOrderPath is Pebble's new-order endpoint (unexported in package wfe).
const newOrderPath = "/order-plz"

// Setenv sets the environment variables NewPebble needs. Call it from
// TestMain before m.Run; NewPebble fails the test if they are not set.
func Setenv() {
	for _, e := range pebbleEnv {
		if err := os.Setenv(e.key, e.value); err != nil {
			panic(err)
		}
	}
}

// PebbleOptions configures NewPebble. The zero value starts a CA that can
// only validate names through the system resolver on ports 80 and 443, which
// is rarely what a test wants: set DNSResolver and the ports.
type PebbleOptions struct {
	// HTTPPort is the port the validation authority connects to for
	// http-01, on the address DNSResolver gives for the name. Zero means 80.
	HTTPPort int
	// TLSPort is the port for tls-alpn-01. Zero means 443.
	TLSPort int
	// DNSResolver is the "host:port" of the DNS server the validation
	// authority asks for A, AAAA and TXT records (over TCP), usually
	// (*DNS).Addr(). Empty means the system resolver.
	DNSResolver string
	// CertValidity is the lifetime of issued certificates, rounded up to
	// whole seconds. X.509 validity is inclusive, so NotAfter−NotBefore is
	// one second less. Zero means Pebble's default of 90 days.
	CertValidity time.Duration
	// Strict turns on Pebble's strict mode, which rejects deprecated ACME
	// usage.
	Strict bool
}

// Pebble is an in-process ACME CA serving HTTPS on 127.0.0.1.
type Pebble struct {
	srv   *httptest.Server
	front *front
	ca    *ca.CAImpl

	requests  atomic.Int64
	newOrders atomic.Int64
}

// NewPebble starts a Pebble CA and stops it when t's cleanup runs. Pebble's
// log goes to t.Log under go test -v and is discarded otherwise.
//
// Pebble's validation authority keeps one goroutine per CA that is never
// stopped; leak checkers must ignore va.VAImpl.processTasks.
func NewPebble(t testing.TB, opts PebbleOptions) *Pebble {
	t.Helper()
	for _, e := range pebbleEnv {
		if got := os.Getenv(e.key); got != e.value {
			t.Fatalf("acmetest: %s=%q, want %q: call acmetest.Setenv() from TestMain", e.key, got, e.value)
		}
	}
	logger := newTestLogger(t)
	httpPort, tlsPort := opts.HTTPPort, opts.TLSPort
	if httpPort == 0 {
		httpPort = 80
	}
	if tlsPort == 0 {
		tlsPort = 443
	}

	// One profile, so orders that name none (Pebble picks one at random)
	// always get this validity.
	var validity uint64 // zero: Pebble's default
	if opts.CertValidity > 0 {
		validity = uint64((opts.CertValidity + time.Second - 1) / time.Second)
	}
	profiles := map[string]ca.Profile{
		"default": {Description: "acmetest profile", ValidityPeriod: validity},
	}

	store := db.NewMemoryStore()
	// ECDSA keys: RSA key generation for the root and intermediate would
	// cost most of a test's budget.
	p := &Pebble{ca: ca.New(logger, store, "", "ecdsa", 0, 1, profiles)}
	vaImpl := va.New(logger, httpPort, tlsPort, opts.Strict, opts.DNSResolver, store)
	wfeImpl := wfe.New(logger, store, vaImpl, p.ca, []string{"pebble.letsencrypt.org"},
		opts.Strict, false, 0, 0)
	handler := wfeImpl.Handler()

	cert, err := newServerCert()
	if err != nil {
		t.Fatalf("acmetest: WFE certificate: %v", err)
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if r.Method == http.MethodPost && r.URL.Path == newOrderPath {
			p.newOrders.Add(1)
		}
		handler.ServeHTTP(w, r)
	}))
	p.front = newFront(p.srv.Listener)
	p.srv.Listener = p.front
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	p.srv.Config.ErrorLog = logger // TLS handshake errors while down are expected
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

// DirectoryURL returns the URL of the ACME directory.
func (p *Pebble) DirectoryURL() string { return p.srv.URL + wfe.DirectoryPath }

// RootPool returns a pool trusting the HTTPS certificate of the ACME server,
// for the ACME client.
func (p *Pebble) RootPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.srv.Certificate())
	return pool
}

// TLSCertPEM returns the HTTPS certificate of the ACME server as PEM, for a
// config file's trusted roots. It is self-signed, valid for 127.0.0.1, ::1
// and localhost, and different for each Pebble.
func (p *Pebble) TLSCertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
}

// RootsPEM returns the roots that issued certificates chain to, as PEM. The
// certificates Pebble issues carry the intermediate in their chain.
func (p *Pebble) RootsPEM() []byte {
	var b []byte
	for i := range p.ca.GetNumberOfRootCerts() {
		b = append(b, p.ca.GetRootCert(i).PEM()...)
	}
	return b
}

// IssuerRootPool returns a pool of the roots in RootsPEM, for verifying
// issued certificates as a client of the load balancer would.
func (p *Pebble) IssuerRootPool(t testing.TB) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.RootsPEM()) {
		t.Fatal("acmetest: no Pebble root certificates")
	}
	return pool
}

// SetDown makes the CA unreachable while down is true: open connections are
// closed and new ones are reset as soon as they are accepted, so clients see
// connection errors rather than HTTP errors.
func (p *Pebble) SetDown(down bool) { p.front.setDown(down) }

// Requests returns how many HTTP requests reached the ACME server. Requests
// refused while down are not counted; see RefusedConns.
func (p *Pebble) Requests() int { return int(p.requests.Load()) }

// NewOrders returns how many POSTs reached the new-order endpoint.
func (p *Pebble) NewOrders() int { return int(p.newOrders.Load()) }

// RefusedConns returns how many connections were reset because the CA was
// down, a measure of how hard a client retried.
func (p *Pebble) RefusedConns() int { return p.front.refusedConns() }

// newTestLogger returns a logger writing to t.Log when testing.Verbose, and
// discarding otherwise. Pebble logs from goroutines that may outlive the
// test, and t.Log after a test ends panics, so writes stop at cleanup.
func newTestLogger(t testing.TB) *log.Logger {
	if !testing.Verbose() {
		return log.New(io.Discard, "", 0)
	}
	w := &testLogWriter{t: t}
	t.Cleanup(w.stop) // registered first, so it runs after the servers stop
	return log.New(w, "pebble: ", log.Lmicroseconds)
}

type testLogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testLogWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(b), "\n"))
	}
	return len(b), nil
}

func (w *testLogWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}
