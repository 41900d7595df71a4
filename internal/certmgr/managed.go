package certmgr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/libdns/rfc2136"
	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"

	"github.com/sluicelb/sluice/internal/config"
)

// managedSource is a local CA or ACME entry: certmagic obtains, stores and
// renews one certificate per domain and keeps them in a cache of the
// source's own, which handshakes read.
type managedSource struct {
	name    string
	spec    *spec
	domains []string
	allowed []string // on-demand allow-list
	roots   *x509.CertPool
	solver  acmez.Solver // dns-01; nil otherwise

	ctx    context.Context
	cancel context.CancelFunc
	cache  *certmagic.Cache
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer // nil for the local CA
}

func newManagedSource(m *Manager, s *spec) (*managedSource, error) {
	ms := &managedSource{name: s.cfg.Certificates[s.index].Name, spec: s, domains: s.Domains}
	if s.OnDemand != nil {
		ms.allowed = s.OnDemand.AllowedDomains
	}
	if s.SourceOrDefault() != config.SourceACME {
		return ms, nil
	}
	var err error
	if ms.roots, err = s.trustedRoots(); err != nil {
		return nil, err
	}
	if d := s.DNS; d != nil {
		if ms.solver, err = dnsSolver(m, s); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// dnsSolver builds the dns-01 solver of s.
func dnsSolver(m *Manager, s *spec) (acmez.Solver, error) {
	d := s.DNS
	resolvers := d.Resolvers
	timeout := d.PropagationTimeout.D()
	if d.SkipPropagationCheck {
		timeout = -1
	}
	switch d.Provider {
	case config.DNSProviderRFC2136:
		server := d.Server
		if _, _, err := net.SplitHostPort(server); err != nil {
			server = net.JoinHostPort(server, "53")
		}
		return &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
			DNSProvider:        &rfc2136.Provider{KeyName: d.TSIGKeyName, KeyAlg: d.TSIGAlgorithm, Key: d.TSIGSecret, Server: server},
			PropagationTimeout: timeout,
			PropagationDelay:   d.PropagationDelay.D(),
			Resolvers:          resolvers,
			Logger:             m.zap,
		}}, nil
	case config.DNSProviderExec:
		fi, err := os.Stat(d.Command)
		raw := s.cfg.Certificates[s.index].DNS.Command
		switch {
		case err != nil:
			return nil, s.fieldError("dns.command", raw, "%v", err)
		case fi.IsDir() || fi.Mode()&0o111 == 0:
			return nil, s.fieldError("dns.command", raw, "is not an executable file; chmod +x it")
		}
		if len(resolvers) == 0 {
			resolvers = systemResolvers()
		}
		if timeout < 0 {
			timeout = 0
		}
		return &execSolver{command: d.Command, timeout: d.CommandTimeout.D(), delay: d.PropagationDelay.D(),
			propagated: timeout, resolvers: resolvers, now: m.o.Clock.Now}, nil
	}
	return nil, fmt.Errorf("unknown DNS provider %q", d.Provider)
}

var keyTypes = map[string]certmagic.KeyType{
	"ec256": certmagic.P256, "ec384": certmagic.P384, "rsa2048": certmagic.RSA2048, "rsa4096": certmagic.RSA4096,
}

func (ms *managedSource) start(m *Manager) {
	ms.ctx, ms.cancel = context.WithCancel(m.ctx)
	// The cache's maintenance goroutine starts before the config exists.
	var cfg atomic.Pointer[certmagic.Config]
	renewCheck := m.o.RenewCheckInterval
	if lt := ms.spec.Lifetime.D(); ms.spec.SourceOrDefault() == config.SourceInternal && renewCheck == 0 {
		// Check often enough that a short-lived certificate is renewed
		// well inside its last third.
		renewCheck = min(certmagic.DefaultRenewCheckInterval, max(lt/10, time.Second))
	}
	ms.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			if c := cfg.Load(); c != nil {
				return c, nil
			}
			return nil, errors.New("certificate source is starting")
		},
		RenewCheckInterval: renewCheck,
		Logger:             m.zap,
	})
	log := m.log.With("certificate", ms.name)
	tmpl := certmagic.Config{
		Storage:   m.storage,
		Logger:    m.zap,
		KeySource: certmagic.StandardKeyGenerator{KeyType: keyTypes[ms.spec.KeyType]},
		OnEvent: func(_ context.Context, event string, data map[string]any) error {
			logEvent(log, event, data)
			if f := m.o.OnIssue; f != nil && (event == "cert_obtained" || event == "cert_failed") {
				f(ms.name, event == "cert_obtained")
			}
			return nil
		},
	}
	if len(ms.allowed) > 0 {
		tmpl.OnDemand = &certmagic.OnDemandConfig{DecisionFunc: func(_ context.Context, name string) error {
			if !ms.allows(name) {
				return fmt.Errorf("%q is not in on_demand.allowed_domains", name)
			}
			return nil
		}}
	}
	ms.cfg = certmagic.New(ms.cache, tmpl)
	if ms.spec.SourceOrDefault() == config.SourceInternal {
		ca, err := m.localCA()
		if err != nil {
			log.Error("local CA unavailable; this certificate cannot be issued", "err", err)
			return
		}
		ms.cfg.Issuers = []certmagic.Issuer{&localIssuer{ca: ca, lifetime: ms.spec.Lifetime.D(), now: time.Now}}
		cfg.Store(ms.cfg)
		if len(ms.domains) > 0 {
			// Local issuance takes milliseconds: have the certificates
			// before the first handshake.
			ctx, cancel := context.WithTimeout(ms.ctx, 30*time.Second)
			defer cancel()
			if err := ms.cfg.ManageSync(ctx, ms.domains); err != nil {
				log.Error("could not issue from the local CA", "err", err)
			}
		}
		return
	}
	ms.issuer = certmagic.NewACMEIssuer(ms.cfg, ms.acmeTemplate(m))
	ms.cfg.Issuers = []certmagic.Issuer{ms.issuer}
	cfg.Store(ms.cfg)
	if len(ms.domains) > 0 {
		if err := ms.cfg.ManageAsync(ms.ctx, ms.domains); err != nil {
			log.Error("could not start managing certificates", "err", err)
		}
	}
}

func (ms *managedSource) acmeTemplate(m *Manager) certmagic.ACMEIssuer {
	s := ms.spec
	dir := s.Directory
	switch {
	case dir != "":
	case s.Staging:
		dir = config.LetsEncryptStaging
	default:
		dir = config.LetsEncryptProduction
	}
	t := certmagic.ACMEIssuer{
		CA:           dir,
		TestCA:       dir, // never fall back to another CA on retries
		Email:        s.Email,
		Agreed:       true,
		TrustedRoots: ms.roots,
		Logger:       m.zap,
		DNS01Solver:  ms.solver,
	}
	if ea := s.ExternalAccount; ea != nil {
		t.ExternalAccount = &acme.EAB{KeyID: ea.KeyID, MACKey: ea.MACKey}
	}
	// Challenges are answered by sluice's own listeners: certmagic finds
	// the port taken and leaves the answering to HTTPChallenge and the
	// handshake callback.
	t.DisableHTTPChallenge = s.HTTPAddr == ""
	t.DisableTLSALPNChallenge = s.TLSAddr == ""
	if host, port, err := net.SplitHostPort(s.HTTPAddr); err == nil {
		t.ListenHost = host
		t.AltHTTPPort, _ = strconv.Atoi(port)
	}
	if host, port, err := net.SplitHostPort(s.TLSAddr); err == nil {
		if t.ListenHost == "" {
			t.ListenHost = host
		}
		t.AltTLSALPNPort, _ = strconv.Atoi(port)
	}
	return t
}

func (ms *managedSource) stop() {
	if ms.cancel != nil {
		ms.cancel()
	}
	if ms.cache != nil {
		ms.cache.Stop()
	}
}

func (ms *managedSource) candidates(dst []*tls.Certificate, hello *tls.ClientHelloInfo, name string) []*tls.Certificate {
	if ms.cache == nil || name == "" {
		return dst
	}
	if len(ms.allowed) > 0 {
		// certmagic renews on-demand certificates only on this path.
		if hello.ServerName != "" && ms.allows(name) {
			if c, err := ms.cfg.GetCertificate(hello); err == nil {
				dst = append(dst, c)
			}
		}
		return dst
	}
	for _, c := range ms.cache.AllMatchingCertificates(name) {
		tc := c.Certificate
		dst = append(dst, &tc)
	}
	return dst
}

func (ms *managedSource) fallback() *tls.Certificate {
	if ms.cache == nil || len(ms.domains) == 0 {
		return nil
	}
	for _, c := range ms.cache.AllMatchingCertificates(ms.domains[0]) {
		tc := c.Certificate
		return &tc
	}
	return nil
}

// allows reports whether the on-demand allow-list covers name.
func (ms *managedSource) allows(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	return slices.ContainsFunc(ms.allowed, func(p string) bool {
		p = strings.ToLower(p)
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			i := strings.IndexByte(name, '.')
			return i > 0 && name[i+1:] == rest
		}
		return name == p
	})
}

// logEvent turns certmagic's lifecycle events into log lines.
func logEvent(log interface {
	Info(string, ...any)
	Error(string, ...any)
}, event string, data map[string]any) {
	id, _ := data["identifier"].(string)
	renewal, _ := data["renewal"].(bool)
	switch event {
	case "cert_obtaining":
		log.Info("obtaining certificate", "identifier", id, "renewal", renewal)
	case "cert_obtained":
		log.Info("certificate obtained", "identifier", id, "renewal", renewal, "issuer", data["issuer"])
	case "cert_failed":
		log.Error("could not obtain certificate; serving the previous one if any and retrying with backoff",
			"identifier", id, "renewal", renewal, "err", data["error"])
	case "cert_ocsp_revoked":
		log.Error("certificate was revoked; replacing it", "identifier", id)
	}
}
