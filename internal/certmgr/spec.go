package certmgr

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"

	"github.com/sluicelb/sluice/internal/config"
)

// spec is one certificate entry of a config with everything resolved that
// decides its identity: paths made absolute, the listener addresses that
// answer its challenges.
type spec struct {
	config.Certificate
	index int
	cfg   *config.Config
	// HTTPAddr and TLSAddr are host:port of the listeners answering
	// http-01 and tls-alpn-01; empty when the challenge is off.
	HTTPAddr, TLSAddr string
	key               string
}

func newSpec(cfg *config.Config, i int) (*spec, error) {
	s := &spec{Certificate: cfg.Certificates[i], index: i, cfg: cfg}
	c := &s.Certificate
	c.CertFile, c.KeyFile, c.ChainFile = cfg.Resolve(c.CertFile), cfg.Resolve(c.KeyFile), cfg.Resolve(c.ChainFile)
	c.TrustedRoots = cfg.Resolve(c.TrustedRoots)
	if c.DNS != nil {
		d := *c.DNS
		d.Command = cfg.Resolve(d.Command)
		c.DNS = &d
	}
	c.Name = "" // two names for one definition share a source
	if c.SourceOrDefault() == config.SourceACME {
		if slices.Contains(c.Challenges, config.ChallengeHTTP01) {
			s.HTTPAddr = challengeAddr(cfg, "HTTP", "", 80)
		}
		if slices.Contains(c.Challenges, config.ChallengeTLSALPN01) {
			s.TLSAddr = challengeAddr(cfg, "HTTPS", cfg.Certificates[i].Name, 443)
		}
	}
	b, err := json.Marshal(struct {
		*config.Certificate
		HTTPAddr, TLSAddr string
	}{c, s.HTTPAddr, s.TLSAddr})
	if err != nil {
		return nil, err
	}
	s.key = string(b)
	return s, nil
}

// challengeAddr returns host:port of the listener of protocol that answers
// challenges: the one on the port the CA dials if there is one, else the
// first. A listener bound to every address is reached on 127.0.0.1.
func challengeAddr(cfg *config.Config, protocol, cert string, port int) string {
	var found *config.Listener
	for i := range cfg.LoadBalancers {
		for j := range cfg.LoadBalancers[i].Listeners {
			l := &cfg.LoadBalancers[i].Listeners[j]
			if l.Protocol != protocol || cert != "" && !slices.Contains(l.Certificates, cert) {
				continue
			}
			if found == nil || l.Port == port && found.Port != port {
				found = l
			}
		}
	}
	if found == nil {
		return ""
	}
	host := found.Address
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(found.Port))
}

// fieldError reports a problem with field of the spec's entry.
func (s *spec) fieldError(field, value string, format string, args ...any) error {
	return s.cfg.FieldError(fmt.Sprintf("certificates[%d].%s", s.index, field), value,
		fmt.Sprintf("certificate %q: ", s.cfg.Certificates[s.index].Name)+fmt.Sprintf(format, args...))
}

// trustedRoots reads the PEM file of CAs trusted for the ACME server.
func (s *spec) trustedRoots() (*x509.CertPool, error) {
	if s.TrustedRoots == "" {
		return nil, nil
	}
	b, err := os.ReadFile(s.TrustedRoots)
	if err != nil {
		return nil, s.fieldError("trusted_roots", s.cfg.Certificates[s.index].TrustedRoots, "%v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, s.fieldError("trusted_roots", s.cfg.Certificates[s.index].TrustedRoots, "holds no PEM certificate")
	}
	return pool, nil
}
