// Package certs loads certificates and selects one per TLS handshake the way
// ALB does: a certificate whose names match the client's SNI name, preferring
// ECDSA over RSA, then the larger key, then the later expiry; the listener's
// default certificate when nothing matches or the client sent no name.
package certs

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// LoadFiles reads a PEM certificate (leaf first, optionally followed by its
// chain), an unencrypted PEM key and an optional PEM chain file.
func LoadFiles(certFile, keyFile, chainFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("reading certificate: %w", err)
	}
	if chainFile != "" {
		chain, err := os.ReadFile(chainFile)
		if err != nil {
			return nil, fmt.Errorf("reading chain: %w", err)
		}
		certPEM = append(append(certPEM, '\n'), chain...)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading private key: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
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

// Selector picks a listener's certificate for each handshake. It is
// immutable; a change of certificates builds a new Selector.
type Selector struct {
	def    *tls.Certificate
	ranked []*tls.Certificate // ECDSA first, larger key, later expiry
}

// NewSelector returns a selector over certs; certs[0] is the default.
func NewSelector(certs []*tls.Certificate) (*Selector, error) {
	if len(certs) == 0 {
		return nil, errors.New("no certificates")
	}
	for _, c := range certs {
		if c.Leaf == nil {
			return nil, errors.New("certificate without parsed leaf")
		}
	}
	ranked := append([]*tls.Certificate(nil), certs...)
	sort.SliceStable(ranked, func(i, j int) bool { return better(ranked[i], ranked[j]) })
	return &Selector{def: certs[0], ranked: ranked}, nil
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

// GetCertificate is a tls.Config.GetCertificate callback.
func (s *Selector) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if name != "" {
		// An exact name beats a wildcard; within each, the ranking decides.
		for _, wildcard := range []bool{false, true} {
			for _, c := range s.ranked {
				if matchesName(c.Leaf, name, wildcard) && hello.SupportsCertificate(c) == nil {
					return c, nil
				}
			}
		}
	}
	return s.def, nil
}

// Default returns the listener's default certificate.
func (s *Selector) Default() *tls.Certificate { return s.def }

func matchesName(leaf *x509.Certificate, name string, wildcard bool) bool {
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
