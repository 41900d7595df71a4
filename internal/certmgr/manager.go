// Package certmgr keeps the certificates HTTPS listeners serve and answers
// each TLS handshake and ACME challenge. Three kinds of source feed it:
// PEM files (watched, so a certbot renewal is served from the next
// handshake on), a local CA for development, and ACME through certmagic,
// which obtains, stores and renews certificates.
//
// The lifecycle follows the config's: Prepare builds a Set for a config
// without changing what is served, Commit makes it live. Sources whose
// definition did not change carry over untouched, so a reload never
// re-issues or re-reads anything it does not have to.
package certmgr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"go.uber.org/zap"

	"github.com/sluicelb/sluice/internal/certs"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/config"
)

// Options configures a Manager. The zero value works but for DataDir.
type Options struct {
	// DataDir holds the certificate storage (DataDir/tls) when
	// Storage is nil.
	DataDir string
	// Storage keeps ACME accounts, keys, certificates and the local CA, and
	// provides the locks that stop two processes issuing the same
	// certificate. Nil means files in DataDir/tls.
	Storage certmagic.Storage
	// Logger receives the certificate lifecycle. Nil means slog.Default().
	Logger *slog.Logger
	// Clock drives file polling and expiry warnings. Nil means the real one.
	Clock clock.Clock
	// WatchInterval is how often certificate files are checked for
	// changes. Zero means 1s.
	WatchInterval time.Duration
	// RenewCheckInterval is how often managed certificates are checked for
	// renewal. Zero means certmagic's default (10m).
	RenewCheckInterval time.Duration
	// OnIssue, if set, hears of every certificate a local CA or ACME
	// source obtained (ok) or failed to obtain, by certificate name.
	OnIssue func(cert string, ok bool)
	// HTTPClient fetches OCSP responses for certificates from files. Nil
	// means a client with a 10s timeout.
	HTTPClient *http.Client
}

// Manager owns every certificate source across config reloads.
type Manager struct {
	o       Options
	log     *slog.Logger
	zap     *zap.Logger
	storage certmagic.Storage
	ctx     context.Context
	cancel  context.CancelFunc
	// tickets encrypts session tickets for every listener, so a reload
	// that builds new tls.Configs does not end resumption.
	tickets *tls.Config

	caOnce sync.Once
	ca     *localCA
	caErr  error

	mu     sync.Mutex
	live   map[string]source // by key
	named  map[string]source // the live sources by certificate name
	closed bool
	watch  clock.Timer

	// issuers are the live ACME issuers, read by challenge requests.
	issuers atomic.Pointer[[]*managedSource]
}

// FileStorage is the default storage: files in dataDir/tls,
// private keys 0600, locked with lock files that other processes on the
// same data dir respect.
func FileStorage(dataDir string) certmagic.Storage {
	return &certmagic.FileStorage{Path: filepath.Join(dataDir, "tls")}
}

// New returns a manager; Close stops it.
func New(o Options) (*Manager, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.WatchInterval <= 0 {
		o.WatchInterval = time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Storage == nil {
		if o.DataDir == "" {
			return nil, errors.New("certificate manager needs a data dir or a storage")
		}
		o.Storage = FileStorage(o.DataDir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		o: o, log: o.Logger, zap: zapLogger(o.Logger), storage: o.Storage,
		ctx: ctx, cancel: cancel, live: map[string]source{},
		tickets: &tls.Config{},
	}
	m.issuers.Store(&[]*managedSource{})
	m.mu.Lock()
	m.schedule()
	m.mu.Unlock()
	return m, nil
}

// Close stops every source. Handshakes fail afterwards.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.closed = true
	m.cancel()
	if m.watch != nil {
		m.watch.Stop()
	}
	for k, s := range m.live {
		s.stop()
		delete(m.live, k)
	}
	m.issuers.Store(&[]*managedSource{})
}

// localCA returns the local CA, loading or creating it on first use.
func (m *Manager) localCA() (*localCA, error) {
	m.caOnce.Do(func() {
		ctx, cancel := context.WithTimeout(m.ctx, time.Minute)
		defer cancel()
		m.ca, m.caErr = loadOrCreateCA(ctx, m.storage)
	})
	return m.ca, m.caErr
}

// Set is the certificate sources of one config, ready to be committed.
type Set struct {
	m      *Manager
	byName map[string]source
	byKey  map[string]source
}

// Prepare builds the sources of cfg. New file sources are read and checked
// now; nothing starts until Commit. Errors point at the config field.
func (m *Manager) Prepare(cfg *config.Config) (*Set, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("certificate manager is closed")
	}
	set := &Set{m: m, byName: map[string]source{}, byKey: map[string]source{}}
	for i := range cfg.Certificates {
		c := &cfg.Certificates[i]
		spec, err := newSpec(cfg, i)
		if err != nil {
			return nil, err
		}
		src := set.byKey[spec.key]
		if src == nil {
			src = m.live[spec.key]
		}
		if src == nil {
			if src, err = m.newSource(spec); err != nil {
				return nil, err
			}
		}
		set.byName[c.Name] = src
		set.byKey[spec.key] = src
	}
	return set, nil
}

// Commit makes set the live sources: new ones start (a local CA issues
// before Commit returns, ACME in the background), removed ones stop.
func (m *Manager) Commit(set *Set) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	for k, s := range m.live {
		if set.byKey[k] == nil {
			s.stop()
		}
	}
	var issuers []*managedSource
	for k, s := range set.byKey {
		if m.live[k] == nil {
			s.start(m)
		}
		if ms, ok := s.(*managedSource); ok && ms.issuer != nil {
			issuers = append(issuers, ms)
		}
	}
	m.live = set.byKey
	m.named = set.byName
	m.issuers.Store(&issuers)
}

// ErrNotManaged is returned by Renew for certificates sluice does not
// obtain itself.
var ErrNotManaged = errors.New("certificate is not obtained by sluice")

// Current returns the certificate the named entry serves by default now,
// or nil when it has none yet (an ACME order in progress) or the name is
// not in the committed config.
func (m *Manager) Current(name string) *tls.Certificate {
	m.mu.Lock()
	src := m.named[name]
	m.mu.Unlock()
	if src == nil {
		return nil
	}
	return src.fallback()
}

// Renew starts renewing the named local CA or ACME certificate now, ahead
// of schedule, in the background; the new certificate is served once
// issued, and the outcome is logged. Certificates
// from files return ErrNotManaged.
func (m *Manager) Renew(name string) error {
	m.mu.Lock()
	src := m.named[name]
	m.mu.Unlock()
	ms, ok := src.(*managedSource)
	switch {
	case src == nil:
		return fmt.Errorf("certificate %q is not in the running configuration", name)
	case !ok:
		return ErrNotManaged
	case ms.cfg == nil || len(ms.domains) == 0:
		return fmt.Errorf("certificate %q has no domains to renew (on-demand certificates renew at their next handshake)", name)
	}
	log := m.log.With("certificate", name)
	go func() {
		for _, d := range ms.domains {
			// RenewCertSync stores the new certificate; caching it puts it
			// beside the old one, and handshakes prefer the later expiry.
			err := ms.cfg.RenewCertSync(ms.ctx, d, true)
			if err == nil {
				_, err = ms.cfg.CacheManagedCertificate(ms.ctx, d)
			}
			if err != nil {
				log.Error("renewal on request failed", "domain", d, "err", err)
				continue
			}
			log.Info("renewed on request", "domain", d)
		}
	}()
	return nil
}

// GetCertificateFunc returns the handshake callback of a listener serving
// the named certificates; names[0] is its default.
func (s *Set) GetCertificateFunc(names []string) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	if len(names) == 0 {
		return nil, errors.New("no certificates")
	}
	srcs := make([]source, len(names))
	for i, n := range names {
		if srcs[i] = s.byName[n]; srcs[i] == nil {
			return nil, fmt.Errorf("certificate %q is not defined", n)
		}
	}
	m := s.m
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if isALPNChallenge(hello) {
			return m.alpnChallenge(hello)
		}
		name := certs.ServerName(hello)
		if name == "" {
			name = localIP(hello.Conn)
		}
		var buf [8]*tls.Certificate
		cands := buf[:0]
		for _, src := range srcs {
			cands = src.candidates(cands, hello, name)
		}
		if c := certs.Choose(hello, name, cands); c != nil {
			return c, nil
		}
		if c := srcs[0].fallback(); c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("no certificate available yet for %q", hello.ServerName)
	}, nil
}

// ConfigureTLS sets what every HTTPS listener's tls.Config shares: session
// tickets that survive reloads and the ACME TLS-ALPN protocol.
func (m *Manager) ConfigureTLS(cfg *tls.Config) {
	cfg.WrapSession = m.tickets.EncryptTicket
	cfg.UnwrapSession = m.tickets.DecryptTicket
	cfg.NextProtos = append(cfg.NextProtos, acmez.ACMETLS1Protocol)
}

// ACMETLSProtocol is the ALPN protocol of TLS-ALPN-01 validation; a
// connection that negotiated it carries no requests and is closed.
const ACMETLSProtocol = acmez.ACMETLS1Protocol

func isALPNChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmez.ACMETLS1Protocol
}

func (m *Manager) alpnChallenge(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	for _, s := range *m.issuers.Load() {
		if s.issuer.DisableTLSALPNChallenge {
			continue
		}
		if c, err := s.cfg.GetCertificate(hello); err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no TLS-ALPN-01 challenge pending for %q", hello.ServerName)
}

// HTTPChallengePath is the path prefix of ACME HTTP-01 requests.
const HTTPChallengePath = "/.well-known/acme-challenge/"

// HTTPChallenge answers an ACME HTTP-01 request for host and path (GET
// only): it returns the key authorization and true when a challenge for
// that token is pending in this process or in the shared storage.
func (m *Manager) HTTPChallenge(host, path string) ([]byte, bool) {
	issuers := *m.issuers.Load()
	if len(issuers) == 0 {
		return nil, false
	}
	r := &http.Request{Method: http.MethodGet, Host: host, URL: &url.URL{Path: path}, Header: http.Header{}}
	for _, s := range issuers {
		w := &captureWriter{}
		if s.issuer.HandleHTTPChallenge(w, r) {
			return w.body, true
		}
	}
	return nil, false
}

// captureWriter is the http.ResponseWriter an HTTP-01 answer is written
// to.
type captureWriter struct {
	h    http.Header
	body []byte
}

func (w *captureWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *captureWriter) Write(b []byte) (int, error) {
	w.body = append(w.body, b...)
	return len(b), nil
}
func (w *captureWriter) WriteHeader(int) {}

// localIP returns the address a client without SNI connected to, matched
// against IP SANs.
func localIP(c net.Conn) string {
	if c == nil {
		return ""
	}
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// schedule arms the next poll of the file sources. m.mu is held.
func (m *Manager) schedule() {
	m.watch = m.o.Clock.AfterFunc(m.o.WatchInterval, func() {
		m.mu.Lock()
		var files []*fileSource
		for _, s := range m.live {
			if f, ok := s.(*fileSource); ok {
				files = append(files, f)
			}
		}
		m.mu.Unlock()
		now := m.o.Clock.Now()
		for _, f := range files {
			f.poll(m, now)
		}
		m.mu.Lock()
		if !m.closed {
			m.schedule()
		}
		m.mu.Unlock()
	})
}

// ConfigureTLS is Manager.ConfigureTLS.
func (s *Set) ConfigureTLS(cfg *tls.Config) { s.m.ConfigureTLS(cfg) }

// HTTPChallenge is Manager.HTTPChallenge.
func (s *Set) HTTPChallenge(host, path string) ([]byte, bool) { return s.m.HTTPChallenge(host, path) }
