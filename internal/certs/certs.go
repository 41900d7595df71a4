// Package certs holds the stateless parts of TLS: loading and checking PEM
// files as an ACM import would, ranking certificates for a handshake the way
// ALB does (a certificate whose names match the client's SNI name,
// preferring ECDSA over RSA, then the larger key, then the later expiry),
// AWS's security policies, trust stores for mutual TLS and OCSP stapling.
// The certificate manager (package certmgr) keeps the state.
package certs

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// LoadFiles reads a PEM certificate (leaf first, optionally followed by its
// chain), an unencrypted PEM key and an optional PEM chain file, and checks
// them as Check does. Every problem but the validity window refuses the
// files; an expired or not yet valid certificate loads, since refusing it
// would not serve anything better (callers warn about expiry).
func LoadFiles(certFile, keyFile, chainFile string) (*tls.Certificate, error) {
	b, problems := CheckFiles(certFile, keyFile, chainFile, time.Now())
	var errs []error
	for _, p := range problems {
		if !p.Warning && !p.Validity {
			errs = append(errs, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	certPEM := b.Cert
	if len(b.Chain) > 0 {
		certPEM = append(append(append([]byte(nil), certPEM...), '\n'), b.Chain...)
	}
	c, err := tls.X509KeyPair(certPEM, b.Key)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// ServerName returns the client's SNI name in the form certificates are
// matched against: lower case, without a trailing dot.
func ServerName(hello *tls.ClientHelloInfo) string {
	return strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
}

// Choose returns the certificate ALB would serve for name (as ServerName
// returns it) among candidates, or nil when none covers it: an exact name
// beats a wildcard; within each, ECDSA beats RSA, then the larger key, then
// the later expiry. Only certificates the client supports are chosen. Every
// candidate must have its Leaf parsed.
func Choose(hello *tls.ClientHelloInfo, name string, candidates []*tls.Certificate) *tls.Certificate {
	if name == "" {
		return nil
	}
	for _, wildcard := range []bool{false, true} {
		var best *tls.Certificate
		for _, c := range candidates {
			if c == nil || c.Leaf == nil || !matchesName(c.Leaf, name, wildcard) {
				continue
			}
			if best != nil && !better(c, best) {
				continue
			}
			if hello.SupportsCertificate(c) == nil {
				best = c
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func better(a, b *tls.Certificate) bool {
	ka, sa := keyRank(a)
	kb, sb := keyRank(b)
	if ka != kb {
		return ka > kb
	}
	if sa != sb {
		return sa > sb
	}
	return a.Leaf.NotAfter.After(b.Leaf.NotAfter)
}

// keyRank orders ECDSA above RSA, then by key size in bits.
func keyRank(c *tls.Certificate) (kind, bits int) {
	switch k := c.Leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return 2, k.Curve.Params().BitSize
	case *rsa.PublicKey:
		return 1, k.N.BitLen()
	}
	return 0, 0
}

func matchesName(leaf *x509.Certificate, name string, wildcard bool) bool {
	if ip := net.ParseIP(name); ip != nil {
		// A client connecting by address sends no SNI; callers pass the
		// local address instead, matched against the IP SANs.
		return !wildcard && slices.ContainsFunc(leaf.IPAddresses, ip.Equal)
	}
	for _, n := range leaf.DNSNames {
		n = strings.ToLower(n)
		if !wildcard && n == name {
			return true
		}
		if wildcard && strings.HasPrefix(n, "*.") {
			// A wildcard covers exactly one label.
			if i := strings.IndexByte(name, '.'); i > 0 && name[i:] == n[1:] {
				return true
			}
		}
	}
	return false
}
