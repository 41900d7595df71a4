// Package snapshot compiles a validated configuration into the immutable
// tables the data plane reads: per listener a rule table and its actions, per
// target group a balancer group and its connection pools.
//
// Compiling has two phases so that a bad configuration changes nothing:
// Prepare does everything that can fail (certificates, rule patterns,
// policies) without touching live state; Commit, which cannot fail, registers
// targets (reusing the ones that stay, draining the ones that go) and returns
// the Snapshot to swap in.
package snapshot

import (
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/sluicelb/sluice/internal/balancer"
	"github.com/sluicelb/sluice/internal/certs"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/health"
	"github.com/sluicelb/sluice/internal/router"
	"github.com/sluicelb/sluice/internal/target"
	"github.com/sluicelb/sluice/internal/upstream"
)

// Snapshot is one compiled configuration. Nothing in it changes after
// Commit; a change builds a new Snapshot.
type Snapshot struct {
	// Config is the configuration it was compiled from.
	Config *config.Config
	// Listeners by bind address ("host:port", host empty for all).
	Listeners map[string]*Listener
	// TargetGroups by name.
	TargetGroups map[string]*TargetGroup
	// Health is what the health checker must check.
	Health []health.GroupSpec
	// Pools are every connection pool the snapshot uses.
	Pools map[*upstream.Pool]bool
	// Keyring seals stickiness cookies.
	Keyring *balancer.Keyring
}

// LoadBalancer holds a load balancer's attributes.
type LoadBalancer struct {
	Name                    string
	IdleTimeout             time.Duration
	ClientKeepAlive         time.Duration
	XFF                     string // append, preserve, remove
	XFFClientPort           bool
	PreserveHostHeader      bool
	DropInvalidHeaderFields bool
	DesyncMitigationMode    string
	HTTP2                   bool
	// TLSVersionAndCipher adds X-Amzn-Tls-Version and
	// X-Amzn-Tls-Cipher-Suite on HTTPS listeners.
	TLSVersionAndCipher bool
}

// Listener is one listener's compiled routing.
type Listener struct {
	LB *LoadBalancer
	// ID is LB:PORT, as the admin API and the metrics name the listener.
	ID      string
	HTTPS   bool
	Port    int
	PortStr string
	Addr    string // bind address
	Router  *router.Table
	Actions []*Action // indexed by router.Rule.Action
	Default *Action
	TLS     *tls.Config // HTTPS only
	// ACMEChallenge answers ACME HTTP-01 requests (GET
	// /.well-known/acme-challenge/TOKEN) before any rule runs; it reports
	// false for tokens it does not know. HTTP listeners only; nil when
	// there is no certificate manager.
	ACMEChallenge func(host, path string) ([]byte, bool)
	// TLSHeaders says which X-Amzn-Tls-* and X-Amzn-Mtls-* headers
	// requests get; zero for none. HTTPS only.
	TLSHeaders TLSHeaders
	// ClientVerifier is set on listeners in mutual TLS verify mode. A
	// connection's handshake may have run under earlier settings (a reload
	// turned passthrough into verify, or added a CRL), so its certificate
	// is checked again against the current ones before its first request
	// under them.
	ClientVerifier *ClientVerifier
}

// ClientVerifier checks client certificates against a listener's trust
// store. Each compiled listener has its own, so a connection can remember
// which one it passed.
type ClientVerifier struct {
	ts           *certs.TrustStore
	ignoreExpiry bool
}

// Verify checks the client certificate of a connection.
func (v *ClientVerifier) Verify(cs *tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate")
	}
	return v.ts.Verify(cs.PeerCertificates, v.ignoreExpiry)
}

// TLSHeaders says which headers describe a request's TLS connection; it
// converts to action.TLSHeaderOptions.
type TLSHeaders struct {
	VersionAndCipher bool   // X-Amzn-Tls-Version, X-Amzn-Tls-Cipher-Suite
	MTLSMode         string // "", passthrough or verify: X-Amzn-Mtls-*
}

// Scheme is "https" or "http".
func (l *Listener) Scheme() string {
	if l.HTTPS {
		return "https"
	}
	return "http"
}

// ActionKind tells which terminal action an Action is.
type ActionKind uint8

// Action kinds.
const (
	Forward ActionKind = iota + 1
	Redirect
	FixedResponse
)

// Action is a rule's (or the default) terminal action.
type Action struct {
	Kind     ActionKind
	Priority int // rule priority; 0 for the default action
	Forward  *ForwardAction
	Redirect *RedirectAction
	Fixed    *FixedAction
}

// RedirectAction builds a redirect's Location from templates that may use
// #{protocol}, #{host}, #{port}, #{path} (no leading slash) and #{query}.
type RedirectAction struct {
	Protocol, Host, Port, Path, Query string
	Status                            int
}

// FixedAction is a compiled fixed response.
type FixedAction struct {
	Status      int
	ContentType string
	Body        []byte
}

// ForwardAction spreads requests over weighted target groups.
type ForwardAction struct {
	Routes []*Route
	// total is the sum of weights.
	total int
	// GroupStickiness pins a client to a group for this long; 0 = off.
	GroupStickiness time.Duration
}

// Route is a target group as reached from one load balancer: the group plus
// the connection pools with that load balancer's timeouts.
type Route struct {
	Group  *TargetGroup
	Weight int
	Pools  map[*target.Target]*upstream.Pool
}

// PickRoute chooses a route by weight; rnd is a uniformly random number.
func (f *ForwardAction) PickRoute(rnd uint64) *Route {
	if len(f.Routes) == 1 {
		return f.Routes[0]
	}
	n := int(rnd % uint64(f.total))
	for _, r := range f.Routes {
		if n < r.Weight {
			return r
		}
		n -= r.Weight
	}
	return f.Routes[len(f.Routes)-1]
}

// RouteFor finds the route to the named group, for group stickiness.
func (f *ForwardAction) RouteFor(name string) *Route {
	for _, r := range f.Routes {
		if r.Group.Name == name {
			return r
		}
	}
	return nil
}

// TargetGroup is a compiled target group.
type TargetGroup struct {
	Name  string
	Group *balancer.Group
	// Stickiness is "", config.StickinessLBCookie or
	// config.StickinessAppCookie.
	Stickiness         string
	StickinessDuration time.Duration
	AppCookieName      string
	// ProtocolVersion is HTTP1, HTTP2 or GRPC.
	ProtocolVersion string
	HTTPS           bool
}

// Env is what compiling needs from the running process.
type Env struct {
	Registry *target.Registry
	Pools    *upstream.Pools
	Keyring  *balancer.Keyring
	Clock    clock.Clock
	// Certificates serves the certificates of the config being compiled.
	// Required when the config has HTTPS listeners.
	Certificates Certificates
}

// Certificates is what listeners need from the certificate manager.
type Certificates interface {
	// GetCertificateFunc returns the handshake callback of a listener
	// serving the named certificates; names[0] is the default.
	GetCertificateFunc(names []string) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error)
	// ConfigureTLS adds what every HTTPS listener shares (session ticket
	// keys, the ACME TLS-ALPN protocol) to a listener's config.
	ConfigureTLS(*tls.Config)
	// HTTPChallenge answers an ACME HTTP-01 request.
	HTTPChallenge(host, path string) ([]byte, bool)
}

// ListenerAddr is the bind address of a listener.
func ListenerAddr(l config.Listener) string {
	return net.JoinHostPort(l.Address, strconv.Itoa(l.Port))
}
