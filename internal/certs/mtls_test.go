package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mtKeyPair is a certificate minted by a test with its key.
type mtKeyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var mtSerial atomic.Int64

type mtOpts struct {
	ca                  bool
	notBefore, notAfter time.Time
	eku                 []x509.ExtKeyUsage
	dns                 []string
	key                 crypto.Signer // a fresh P-256 key when nil
}

// mtMint issues a certificate named cn, signed by parent (self-signed when
// parent is nil). Leaves default to the client auth extended key usage; the
// validity defaults to a day either side of now (a year for CAs).
func mtMint(t *testing.T, cn string, parent *mtKeyPair, o mtOpts) *mtKeyPair {
	t.Helper()
	key := o.key
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	life := 24 * time.Hour
	if o.ca {
		life = 365 * 24 * time.Hour // CAs outlive the leaves they issue
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-life)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(life)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1000 + mtSerial.Add(1)),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"sluice test"}},
		NotBefore:             o.notBefore,
		NotAfter:              o.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  o.ca,
		DNSNames:              o.dns,
	}
	if o.ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else if o.eku == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = o.eku
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &mtKeyPair{cert: c, key: key}
}

// mtCRL returns a DER CRL signed by issuer revoking certs.
func mtCRL(t *testing.T, issuer *mtKeyPair, certs ...*x509.Certificate) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{
		Number:     big.NewInt(mtSerial.Add(1)),
		ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: time.Now().Add(24 * time.Hour),
	}
	for _, c := range certs {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer.cert, issuer.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mtPEM(typ string, ders ...[]byte) []byte {
	var b bytes.Buffer
	for _, d := range ders {
		pem.Encode(&b, &pem.Block{Type: typ, Bytes: d})
	}
	return b.Bytes()
}

func mtWrite(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mtStore loads a trust store of cas and crls (DER) written to files.
func mtStore(t *testing.T, cas []*mtKeyPair, crls ...[]byte) *TrustStore {
	t.Helper()
	var bundle [][]byte
	for _, ca := range cas {
		bundle = append(bundle, ca.cert.Raw)
	}
	var crlFiles []string
	for i, c := range crls {
		data := c
		if i%2 == 1 { // both encodings are accepted
			data = mtPEM("X509 CRL", c)
		}
		crlFiles = append(crlFiles, mtWrite(t, "crl", data))
	}
	ts, err := LoadTrustStore(mtWrite(t, "ca.pem", mtPEM("CERTIFICATE", bundle...)), crlFiles)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// mtChain is what a client presents: its leaf's key and certificates, leaf
// first.
func mtChain(leaf *mtKeyPair, rest ...*mtKeyPair) *tls.Certificate {
	c := &tls.Certificate{PrivateKey: leaf.key, Certificate: [][]byte{leaf.cert.Raw}}
	for _, r := range rest {
		c.Certificate = append(c.Certificate, r.cert.Raw)
	}
	return c
}

// mtServerConfig is a listener's config before Apply: a certificate and a
// GetCertificate, as the listener sets them.
func mtServerConfig(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	srv := mtMint(t, "localhost", nil, mtOpts{dns: []string{"localhost"}, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	cert := &tls.Certificate{Certificate: [][]byte{srv.cert.Raw}, PrivateKey: srv.key}
	pool := x509.NewCertPool()
	pool.AddCert(srv.cert)
	return &tls.Config{
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil },
	}, pool
}

// mtResult is what one handshake did.
type mtResult struct {
	err        error // the server's handshake error
	requested  bool  // the server asked for a client certificate
	advertised [][]byte
	state      tls.ConnectionState // the server's view
}

// mtHandshake runs one TLS handshake over loopback between server and a
// client presenting cert (none when nil), and reports the server's verdict.
func mtHandshake(t *testing.T, server *tls.Config, roots *x509.CertPool, cert *tls.Certificate, version uint16, cache tls.ClientSessionCache) mtResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type out struct {
		err   error
		state tls.ConnectionState
	}
	done := make(chan out, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- out{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(c, server)
		err = s.Handshake()
		if err == nil {
			// Lets a TLS 1.3 client read its session ticket.
			_, err = s.Write([]byte("x"))
		}
		done <- out{err: err, state: s.ConnectionState()}
	}()
	var res mtResult
	client := &tls.Config{
		RootCAs:            roots,
		ServerName:         "localhost",
		MinVersion:         version,
		MaxVersion:         version,
		ClientSessionCache: cache,
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			res.requested, res.advertised = true, cri.AcceptableCAs
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		},
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(conn, client)
	if c.Handshake() == nil {
		c.Read(make([]byte, 1))
	}
	o := <-done
	res.err, res.state = o.err, o.state
	return res
}

var mtVersions = []struct {
	name string
	v    uint16
}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}}

func TestApplyVerify(t *testing.T) {
	now := time.Now()
	root := mtMint(t, "Root CA", nil, mtOpts{ca: true})
	inter := mtMint(t, "Intermediate CA", root, mtOpts{ca: true})
	leaf := mtMint(t, "client-1", inter, mtOpts{})
	leaf2 := mtMint(t, "client-2", inter, mtOpts{})
	direct := mtMint(t, "client-direct", root, mtOpts{})
	expired := mtMint(t, "client-expired", inter, mtOpts{notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour)})
	future := mtMint(t, "client-future", inter, mtOpts{notBefore: now.Add(24 * time.Hour), notAfter: now.Add(48 * time.Hour)})
	serverOnly := mtMint(t, "client-server-eku", inter, mtOpts{eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	otherRoot := mtMint(t, "Other CA", nil, mtOpts{ca: true})
	stranger := mtMint(t, "stranger", otherRoot, mtOpts{})
	selfSigned := mtMint(t, "self", nil, mtOpts{})

	plain := mtStore(t, []*mtKeyPair{root})
	interRevoked := mtStore(t, []*mtKeyPair{root}, mtCRL(t, root, inter.cert))
	// An intermediate in the bundle can sign a CRL of its own leaves, and
	// a root's CRL revokes it even though it is also a trust anchor.
	leafRevoked := mtStore(t, []*mtKeyPair{root, inter}, mtCRL(t, inter, leaf.cert, expired.cert), mtCRL(t, root))
	interRevokedInBundle := mtStore(t, []*mtKeyPair{root, inter}, mtCRL(t, root, inter.cert))

	tests := []struct {
		name         string
		ts           *TrustStore
		ignoreExpiry bool
		cert         *tls.Certificate
		wantErr      string // "" when the client is accepted
	}{
		{"chain through a sent intermediate", plain, false, mtChain(leaf, inter), ""},
		{"leaf signed by the root", plain, false, mtChain(direct), ""},
		{"no certificate", plain, false, nil, "didn't provide a certificate"},
		{"intermediate not sent", plain, false, mtChain(leaf), "unknown authority"},
		{"unknown CA", plain, false, mtChain(stranger, otherRoot), "unknown authority"},
		{"self-signed", plain, false, mtChain(selfSigned), "unknown authority"},
		{"server auth only", plain, false, mtChain(serverOnly, inter), "key usage"},
		{"expired leaf", plain, false, mtChain(expired, inter), "expired"},
		{"not yet valid leaf", plain, false, mtChain(future, inter), "not yet valid"},
		{"expired leaf, expiry ignored", plain, true, mtChain(expired, inter), ""},
		{"not yet valid leaf, expiry ignored", plain, true, mtChain(future, inter), ""},
		{"unknown CA, expiry ignored", plain, true, mtChain(stranger, otherRoot), "unknown authority"},
		{"revoked intermediate", interRevoked, false, mtChain(leaf, inter), fmt.Sprintf("CN=Intermediate CA,O=sluice test (serial %s) is revoked", inter.cert.SerialNumber)},
		{"revoked intermediate, leaf of the root unaffected", interRevoked, false, mtChain(direct), ""},
		{"revoked intermediate that is also an anchor", interRevokedInBundle, false, mtChain(leaf, inter), fmt.Sprintf("CN=Intermediate CA,O=sluice test (serial %s) is revoked", inter.cert.SerialNumber)},
		{"revoked intermediate that is also an anchor, not sent", interRevokedInBundle, false, mtChain(leaf), fmt.Sprintf("CN=Intermediate CA,O=sluice test (serial %s) is revoked", inter.cert.SerialNumber)},
		{"revoked leaf", leafRevoked, false, mtChain(leaf, inter), fmt.Sprintf("CN=client-1,O=sluice test (serial %s) is revoked", leaf.cert.SerialNumber)},
		{"revoked leaf, not sent intermediate", leafRevoked, false, mtChain(leaf), fmt.Sprintf("CN=client-1,O=sluice test (serial %s) is revoked", leaf.cert.SerialNumber)},
		{"sibling of a revoked leaf", leafRevoked, false, mtChain(leaf2, inter), ""},
		{"revoked expired leaf, expiry ignored", leafRevoked, true, mtChain(expired, inter), fmt.Sprintf("CN=client-expired,O=sluice test (serial %s) is revoked", expired.cert.SerialNumber)},
	}
	for _, ver := range mtVersions {
		for _, tt := range tests {
			t.Run(ver.name+"/"+tt.name, func(t *testing.T) {
				cfg, roots := mtServerConfig(t)
				tt.ts.Apply(cfg, "verify", tt.ignoreExpiry)
				if cfg.GetCertificate == nil {
					t.Fatal("Apply cleared GetCertificate")
				}
				res := mtHandshake(t, cfg, roots, tt.cert, ver.v, nil)
				if tt.wantErr == "" && res.err != nil {
					t.Fatalf("server handshake: %v", res.err)
				}
				if tt.wantErr != "" && (res.err == nil || !strings.Contains(res.err.Error(), tt.wantErr)) {
					t.Fatalf("server handshake error = %v, want it to contain %q", res.err, tt.wantErr)
				}
				if !res.requested {
					t.Error("client certificate not requested")
				}
				if !mtAdvertises(res.advertised, root.cert) {
					t.Errorf("trust store CA not advertised: %d names", len(res.advertised))
				}
				if tt.wantErr == "" && len(res.state.PeerCertificates) != len(tt.cert.Certificate) {
					t.Errorf("peer certificates = %d, want %d", len(res.state.PeerCertificates), len(tt.cert.Certificate))
				}
			})
		}
	}
}

func mtAdvertises(names [][]byte, ca *x509.Certificate) bool {
	for _, n := range names {
		if bytes.Equal(n, ca.RawSubject) {
			return true
		}
	}
	return false
}

func TestApplyPassthroughAndOff(t *testing.T) {
	root := mtMint(t, "Root CA", nil, mtOpts{ca: true})
	stranger := mtMint(t, "stranger", mtMint(t, "Other CA", nil, mtOpts{ca: true}), mtOpts{})
	expired := mtMint(t, "expired", nil, mtOpts{notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	ts := mtStore(t, []*mtKeyPair{root})
	tests := []struct {
		name      string
		mode      string
		cert      *tls.Certificate
		requested bool
		peers     int
	}{
		{"passthrough without certificate", "passthrough", nil, true, 0},
		{"passthrough untrusted certificate", "passthrough", mtChain(stranger), true, 1},
		{"passthrough expired self-signed", "passthrough", mtChain(expired), true, 1},
		{"off", "off", mtChain(stranger), false, 0},
		{"empty mode is off", "", mtChain(stranger), false, 0},
	}
	for _, ver := range mtVersions {
		for _, tt := range tests {
			t.Run(ver.name+"/"+tt.name, func(t *testing.T) {
				cfg, roots := mtServerConfig(t)
				ts.Apply(cfg, "verify", false) // a later Apply replaces an earlier one
				ts.Apply(cfg, tt.mode, false)
				if cfg.ClientCAs != nil {
					t.Error("ClientCAs set outside verify")
				}
				res := mtHandshake(t, cfg, roots, tt.cert, ver.v, nil)
				if res.err != nil {
					t.Fatalf("server handshake: %v", res.err)
				}
				if res.requested != tt.requested {
					t.Errorf("client certificate requested = %v, want %v", res.requested, tt.requested)
				}
				if len(res.advertised) != 0 {
					t.Errorf("advertised %d CA names outside verify", len(res.advertised))
				}
				if got := len(res.state.PeerCertificates); got != tt.peers {
					t.Errorf("peer certificates = %d, want %d", got, tt.peers)
				}
			})
		}
	}
}

func TestApplyRefusesWithoutStore(t *testing.T) {
	root := mtMint(t, "Root CA", nil, mtOpts{ca: true})
	leaf := mtMint(t, "client", root, mtOpts{})
	ts := mtStore(t, []*mtKeyPair{root})
	for _, tt := range []struct {
		name string
		ts   *TrustStore
		mode string
	}{
		{"verify with nil store", nil, "verify"},
		{"unknown mode", ts, "optional"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, roots := mtServerConfig(t)
			tt.ts.Apply(cfg, tt.mode, false)
			if res := mtHandshake(t, cfg, roots, mtChain(leaf), tls.VersionTLS13, nil); res.err == nil {
				t.Fatal("handshake succeeded")
			}
		})
	}
}

// A session ticket issued under passthrough to an untrusted certificate
// must not let the client skip verification once the listener switches to
// verify with the same ticket keys.
func TestApplyVerifiesResumedSessions(t *testing.T) {
	root := mtMint(t, "Root CA", nil, mtOpts{ca: true})
	good := mtMint(t, "client", root, mtOpts{})
	stranger := mtMint(t, "stranger", nil, mtOpts{})
	ts := mtStore(t, []*mtKeyPair{root})
	var keys [1][32]byte
	rand.Read(keys[0][:])
	for _, ver := range mtVersions {
		t.Run(ver.name, func(t *testing.T) {
			cfg, roots := mtServerConfig(t)
			cfg.SetSessionTicketKeys(keys[:])
			ts.Apply(cfg, "verify", false)
			cache := tls.NewLRUClientSessionCache(4)
			if res := mtHandshake(t, cfg, roots, mtChain(good), ver.v, cache); res.err != nil || res.state.DidResume {
				t.Fatalf("first handshake: err %v, resumed %v", res.err, res.state.DidResume)
			}
			if res := mtHandshake(t, cfg, roots, mtChain(good), ver.v, cache); res.err != nil || !res.state.DidResume {
				t.Fatalf("resumption under verify: err %v, resumed %v", res.err, res.state.DidResume)
			}

			pass, _ := mtServerConfig(t)
			pass.Certificates, pass.GetCertificate = cfg.Certificates, cfg.GetCertificate
			pass.SetSessionTicketKeys(keys[:])
			ts.Apply(pass, "passthrough", false)
			cache = tls.NewLRUClientSessionCache(4)
			if res := mtHandshake(t, pass, roots, mtChain(stranger), ver.v, cache); res.err != nil {
				t.Fatalf("passthrough handshake: %v", res.err)
			}
			res := mtHandshake(t, cfg, roots, mtChain(stranger), ver.v, cache)
			if res.err == nil {
				t.Fatalf("untrusted certificate accepted after the switch to verify (resumed %v)", res.state.DidResume)
			}
		})
	}
}

func TestLoadTrustStore(t *testing.T) {
	root := mtMint(t, "Root CA", nil, mtOpts{ca: true})
	inter := mtMint(t, "Intermediate CA", root, mtOpts{ca: true})
	leaf := mtMint(t, "client", inter, mtOpts{})
	impostor := mtMint(t, "Root CA", nil, mtOpts{ca: true}) // same name, other key
	bundle := mtPEM("CERTIFICATE", root.cert.Raw, inter.cert.Raw)
	commented := append([]byte("# our client CAs\n"), bundle...)
	good := mtWrite(t, "ca.pem", commented)

	if _, err := LoadTrustStore(good, []string{
		mtWrite(t, "root.crl", mtCRL(t, root, inter.cert)),
		mtWrite(t, "inter.pem", mtPEM("X509 CRL", mtCRL(t, inter, leaf.cert), mtCRL(t, root))),
	}); err != nil {
		t.Fatalf("valid store: %v", err)
	}

	tests := []struct {
		name    string
		ca      []byte
		crls    [][]byte
		wantErr string
	}{
		{"empty file", []byte{}, nil, "no PEM CERTIFICATE blocks"},
		{"garbage", []byte("not a certificate\n"), nil, "no PEM CERTIFICATE blocks"},
		{"garbage in a PEM block", []byte("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"), nil, "malformed PEM"},
		{"bad DER", mtPEM("CERTIFICATE", []byte("nope")), nil, "certificate 1"},
		{"private key", mtPEM("PRIVATE KEY", []byte("nope")), nil, `PEM block 1 is "PRIVATE KEY"`},
		{"non-CA certificate", mtPEM("CERTIFICATE", root.cert.Raw, leaf.cert.Raw), nil, "certificate 2 (CN=client,O=sluice test) is not a CA"},
		{"CRL signed by an unknown key", bundle, [][]byte{mtCRL(t, impostor, leaf.cert)}, "is not signed by any CA"},
		{"CRL of an issuer outside the bundle", mtPEM("CERTIFICATE", root.cert.Raw), [][]byte{mtCRL(t, inter, leaf.cert)}, "is not signed by any CA"},
		{"garbage CRL", bundle, [][]byte{[]byte("garbage")}, "not PEM, and not a DER CRL"},
		{"CRL file holding a certificate", bundle, [][]byte{mtPEM("CERTIFICATE", leaf.cert.Raw)}, "want X509 CRL"},
		{"malformed PEM CRL", bundle, [][]byte{[]byte("-----BEGIN X509 CRL-----\n!!\n")}, "malformed PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := mtWrite(t, "ca.pem", tt.ca)
			var crls []string
			for _, c := range tt.crls {
				crls = append(crls, mtWrite(t, "list.crl", c))
			}
			_, err := LoadTrustStore(ca, crls)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			file := ca
			if len(crls) > 0 {
				file = crls[0]
			}
			if !strings.Contains(err.Error(), file) {
				t.Errorf("err = %v, want it to name %s", err, file)
			}
		})
	}

	t.Run("missing files", func(t *testing.T) {
		if _, err := LoadTrustStore(filepath.Join(t.TempDir(), "none.pem"), nil); err == nil {
			t.Error("missing CA file accepted")
		}
		if _, err := LoadTrustStore(good, []string{filepath.Join(t.TempDir(), "none.crl")}); err == nil {
			t.Error("missing CRL file accepted")
		}
	})
}
