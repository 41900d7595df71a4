package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// TrustStore holds what mutual TLS verify mode checks client certificates
// against, as an ALB trust store does: a bundle of CA certificates and the
// revocation lists those CAs signed. It is immutable; a changed bundle or
// CRL builds a new TrustStore.
type TrustStore struct {
	roots *x509.CertPool
	// revoked maps an issuer's raw subject to the CRLs that issuer signed.
	revoked map[string][]*crl
}

// crl is one revocation list reduced to what a handshake checks.
type crl struct {
	// signer is the CA whose signature on the list was checked: the list
	// applies only to certificates that CA issued, not to those of another
	// CA that happens to share its name.
	signer  *x509.Certificate
	serials map[string]struct{}
}

// LoadTrustStore reads caFile, a PEM bundle of one or more CA certificates
// (text outside the PEM blocks, such as ALB's "# comment" lines, is
// ignored), and crlFiles, revocation lists in PEM ("X509 CRL" blocks) or
// DER, each of which must be signed by a CA of the bundle.
func LoadTrustStore(caFile string, crlFiles []string) (*TrustStore, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading trust store: %w", err)
	}
	cas, err := parseCABundle(data)
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", caFile, err)
	}
	ts := &TrustStore{roots: x509.NewCertPool(), revoked: make(map[string][]*crl)}
	for _, ca := range cas {
		ts.roots.AddCert(ca)
	}
	for _, f := range crlFiles {
		lists, err := readCRLs(f)
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			signer := signerOf(l, cas)
			if signer == nil {
				return nil, fmt.Errorf("revocation list %s (issuer %q) is not signed by any CA in %s", f, l.Issuer, caFile)
			}
			c := &crl{signer: signer, serials: make(map[string]struct{}, len(l.RevokedCertificateEntries))}
			for _, e := range l.RevokedCertificateEntries {
				c.serials[e.SerialNumber.String()] = struct{}{}
			}
			ts.revoked[string(l.RawIssuer)] = append(ts.revoked[string(l.RawIssuer)], c)
		}
	}
	return ts, nil
}

// parseCABundle returns the CA certificates of a PEM bundle.
func parseCABundle(data []byte) ([]*x509.Certificate, error) {
	var cas []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n := len(cas) + 1
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE", n, b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n, err)
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("certificate %d (%s) is not a CA certificate (basic constraints CA:TRUE missing)", n, c.Subject)
		}
		cas = append(cas, c)
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("malformed PEM after certificate %d", len(cas))
	}
	if len(cas) == 0 {
		return nil, errors.New("no PEM CERTIFICATE blocks")
	}
	return cas, nil
}

// readCRLs parses a CRL file: PEM "X509 CRL" blocks, or one DER list.
func readCRLs(file string) ([]*x509.RevocationList, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading revocation list: %w", err)
	}
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		l, err := x509.ParseRevocationList(data)
		if err != nil {
			return nil, fmt.Errorf("revocation list %s: not PEM, and not a DER CRL: %w", file, err)
		}
		return []*x509.RevocationList{l}, nil
	}
	var lists []*x509.RevocationList
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			return nil, fmt.Errorf("revocation list %s: PEM block %d is %q, want X509 CRL", file, len(lists)+1, b.Type)
		}
		l, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("revocation list %s: CRL %d: %w", file, len(lists)+1, err)
		}
		lists = append(lists, l)
	}
	if len(lists) == 0 || bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("revocation list %s: malformed PEM", file)
	}
	return lists, nil
}

// signerOf returns the CA of cas whose key signed l, or nil.
func signerOf(l *x509.RevocationList, cas []*x509.Certificate) *x509.Certificate {
	for _, ca := range cas {
		if bytes.Equal(ca.RawSubject, l.RawIssuer) && l.CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	return nil
}

// Apply configures cfg, a listener's server config, for an ALB mutual TLS
// mode, setting only ClientAuth, ClientCAs and VerifyConnection (replacing
// any VerifyConnection set before):
//
//   - "off" (or ""): no client certificate is requested.
//   - "passthrough": a client certificate is requested but not required,
//     and any certificate is accepted unverified (the target verifies it).
//   - "verify": a certificate chaining to the trust store is required,
//     with the client auth extended key usage, and neither it nor an
//     intermediate may be revoked by the store's CRLs. With ignoreExpiry
//     (ALB's ignore_client_certificate_expiry) an expired or not yet valid
//     certificate is accepted if it verifies at a time inside its own
//     validity window. The store's CA names are advertised to clients.
//
// Any other mode, or verify on a nil store, refuses every connection.
//
// Verification runs in VerifyConnection, which crypto/tls calls on resumed
// sessions too, so a session ticket issued before a trust store or CRL
// change, or under passthrough, is checked again against the current store.
func (ts *TrustStore) Apply(cfg *tls.Config, mode string, ignoreExpiry bool) {
	switch mode {
	case "off", "":
		cfg.ClientAuth, cfg.ClientCAs, cfg.VerifyConnection = tls.NoClientCert, nil, nil
		return
	case "passthrough":
		cfg.ClientAuth, cfg.ClientCAs, cfg.VerifyConnection = tls.RequestClientCert, nil, nil
		return
	}
	// Verify ourselves rather than with RequireAndVerifyClientCert: the
	// standard check can neither consult CRLs nor ignore expiry.
	cfg.ClientAuth = tls.RequireAnyClientCert
	if mode != "verify" || ts == nil {
		err := errors.New("mutual TLS verify without a trust store: refusing client certificates")
		if mode != "verify" {
			err = fmt.Errorf("unknown mutual TLS mode %q: refusing client certificates", mode)
		}
		cfg.ClientCAs = nil
		cfg.VerifyConnection = func(tls.ConnectionState) error { return err }
		return
	}
	cfg.ClientCAs = ts.roots
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		now := time.Now()
		if cfg.Time != nil {
			now = cfg.Time()
		}
		return ts.verify(cs.PeerCertificates, now, ignoreExpiry)
	}
}

// verify checks a client's chain, leaf first, as sent.
// Verify checks a client's certificate chain (leaf first, as the client
// sent it) now, as the handshake of a verify listener does.
func (ts *TrustStore) Verify(peer []*x509.Certificate, ignoreExpiry bool) error {
	return ts.verify(peer, time.Now(), ignoreExpiry)
}

func (ts *TrustStore) verify(certs []*x509.Certificate, now time.Time, ignoreExpiry bool) error {
	if len(certs) == 0 {
		return errors.New("client certificate required")
	}
	leaf := certs[0]
	if ignoreExpiry {
		if now.Before(leaf.NotBefore) {
			now = leaf.NotBefore
		} else if now.After(leaf.NotAfter) {
			now = leaf.NotAfter
		}
	}
	opts := x509.VerifyOptions{
		Roots:         ts.roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := leaf.Verify(opts)
	if err != nil {
		return fmt.Errorf("client certificate %s: %w", leaf.Subject, err)
	}
	var revoked *x509.Certificate
	for _, chain := range chains {
		r := ts.firstRevoked(chain)
		if r == nil {
			return nil
		}
		revoked = r
	}
	return fmt.Errorf("client certificate %s: certificate %s (serial %s) is revoked", leaf.Subject, revoked.Subject, revoked.SerialNumber)
}

// firstRevoked returns the first certificate of a verified chain (leaf
// first, trust anchor last) that a CRL of its issuer lists, or nil. The
// anchor is checked too: a bundle may hold an intermediate that its own
// root, also in the bundle, has revoked.
func (ts *TrustStore) firstRevoked(chain []*x509.Certificate) *x509.Certificate {
	for i, c := range chain {
		for _, l := range ts.revoked[string(c.RawIssuer)] {
			if _, ok := l.serials[c.SerialNumber.String()]; !ok {
				continue
			}
			if i+1 < len(chain) {
				if bytes.Equal(l.signer.RawSubjectPublicKeyInfo, chain[i+1].RawSubjectPublicKeyInfo) {
					return c
				}
			} else if c.CheckSignatureFrom(l.signer) == nil {
				return c
			}
		}
	}
	return nil
}
