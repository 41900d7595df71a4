package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RSA key generation is slow; each size is generated once per test binary.
var (
	rsaOnce          sync.Once
	rsa2048, rsa3072 *rsa.PrivateKey
)

func rsaKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	rsaOnce.Do(func() {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); rsa2048, _ = rsa.GenerateKey(rand.Reader, 2048) }()
		go func() { defer wg.Done(); rsa3072, _ = rsa.GenerateKey(rand.Reader, 3072) }()
		wg.Wait()
	})
	if rsa2048 == nil || rsa3072 == nil {
		t.Fatal("RSA key generation failed")
	}
	return rsa2048, rsa3072
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial int64

// issue makes a certificate for names signed by parent (self-signed when
// parent is nil) and returns its DER.
func issue(t *testing.T, key crypto.Signer, names []string, notAfter time.Time, isCA bool, parent *x509.Certificate, parentKey crypto.Signer) []byte {
	t.Helper()
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.DNSNames = names
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func makeCert(t *testing.T, key crypto.Signer, notAfter time.Time, names ...string) *tls.Certificate {
	t.Helper()
	der := issue(t, key, names, notAfter, false, nil, nil)
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func certPEM(ders ...[]byte) []byte {
	var b bytes.Buffer
	for _, d := range ders {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: d})
	}
	return b.Bytes()
}

func keyPEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func writeTestFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	r2048, _ := rsaKeys(t)
	caKey, leafKey, otherKey := ecKey(t), ecKey(t), ecKey(t)
	caDER := issue(t, caKey, []string{"Test CA"}, time.Now().Add(time.Hour), true, nil, nil)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafDER := issue(t, leafKey, []string{"www.example.com"}, time.Now().Add(time.Hour), false, ca, caKey)
	rsaDER := issue(t, r2048, []string{"rsa.example.com"}, time.Now().Add(time.Hour), false, nil, nil)

	leafFile := writeTestFile(t, dir, "leaf.pem", certPEM(leafDER))
	fullFile := writeTestFile(t, dir, "full.pem", certPEM(leafDER, caDER))
	chainFile := writeTestFile(t, dir, "chain.pem", certPEM(caDER))
	keyFile := writeTestFile(t, dir, "leaf.key", keyPEM(t, leafKey))
	otherKeyFile := writeTestFile(t, dir, "other.key", keyPEM(t, otherKey))
	rsaFile := writeTestFile(t, dir, "rsa.pem", certPEM(rsaDER))
	rsaKeyFile := writeTestFile(t, dir, "rsa.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(r2048)}))
	missing := filepath.Join(dir, "nope", "missing.pem")

	tests := []struct {
		name              string
		cert, key, chain  string
		wantChain         [][]byte
		wantErrContaining []string // empty: success
	}{
		{name: "leaf and key", cert: leafFile, key: keyFile, wantChain: [][]byte{leafDER}},
		{name: "leaf followed by chain in one file", cert: fullFile, key: keyFile, wantChain: [][]byte{leafDER, caDER}},
		{name: "chain in a separate file", cert: leafFile, key: keyFile, chain: chainFile, wantChain: [][]byte{leafDER, caDER}},
		{name: "RSA PKCS1 key", cert: rsaFile, key: rsaKeyFile, wantChain: [][]byte{rsaDER}},
		{name: "mismatched key", cert: leafFile, key: otherKeyFile, wantErrContaining: []string{leafFile, otherKeyFile}},
		{name: "key of another type", cert: leafFile, key: rsaKeyFile, wantErrContaining: []string{leafFile}},
		{name: "missing certificate", cert: missing, key: keyFile, wantErrContaining: []string{missing}},
		{name: "missing key", cert: leafFile, key: missing, wantErrContaining: []string{missing}},
		{name: "missing chain", cert: leafFile, key: keyFile, chain: missing, wantErrContaining: []string{missing}},
		{name: "key file as certificate", cert: keyFile, key: keyFile, wantErrContaining: []string{keyFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadFiles(tt.cert, tt.key, tt.chain)
			if len(tt.wantErrContaining) > 0 {
				if err == nil {
					t.Fatal("LoadFiles succeeded, want an error")
				}
				for _, s := range tt.wantErrContaining {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %s", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Certificate) != len(tt.wantChain) {
				t.Fatalf("chain has %d certificates, want %d", len(c.Certificate), len(tt.wantChain))
			}
			for i := range tt.wantChain {
				if !bytes.Equal(c.Certificate[i], tt.wantChain[i]) {
					t.Errorf("chain[%d] differs", i)
				}
			}
			if c.Leaf == nil || !bytes.Equal(c.Leaf.Raw, tt.wantChain[0]) {
				t.Error("Leaf is not the parsed first certificate")
			}
		})
	}
}

func TestWriteSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // created by WriteSelfSigned
	hosts := []string{"localhost", "127.0.0.1", "::1", "demo.example.test"}
	before := time.Now()
	certFile, keyFile, err := WriteSelfSigned(dir, "demo", hosts, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if certFile != filepath.Join(dir, "demo.pem") || keyFile != filepath.Join(dir, "demo.key") {
		t.Errorf("paths = %s, %s", certFile, keyFile)
	}
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{keyFile, 0o600}, {certFile, 0o644}} {
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != f.mode {
			t.Errorf("%s mode = %v, want %v", f.path, fi.Mode().Perm(), f.mode)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want only the cert and key", names)
	}

	c, err := LoadFiles(certFile, keyFile, "")
	if err != nil {
		t.Fatalf("written pair does not load: %v", err)
	}
	leaf := c.Leaf
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("key is %T, want ECDSA", leaf.PublicKey)
	}
	if leaf.Subject.CommonName != "localhost" {
		t.Errorf("CN = %q", leaf.Subject.CommonName)
	}
	if got := strings.Join(leaf.DNSNames, ","); got != "localhost,demo.example.test" {
		t.Errorf("DNSNames = %v", leaf.DNSNames)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if got := strings.Join(ips, ","); got != "127.0.0.1,::1" {
		t.Errorf("IPAddresses = %v", ips)
	}
	if d := leaf.NotAfter.Sub(before.Add(48 * time.Hour)); d < -time.Second || d > time.Minute {
		t.Errorf("NotAfter = %v, want about 48h from now", leaf.NotAfter)
	}
	if !leaf.NotBefore.Before(before) {
		t.Errorf("NotBefore = %v, want before %v", leaf.NotBefore, before)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, h := range hosts {
		t.Run("verify "+h, func(t *testing.T) {
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots}); err != nil {
				t.Error(err)
			}
		})
	}

	// Writing again replaces the pair in place.
	if _, _, err := WriteSelfSigned(dir, "demo", hosts[:1], time.Hour); err != nil {
		t.Fatal(err)
	}
	c2, err := LoadFiles(certFile, keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(c2.Certificate[0], c.Certificate[0]) || len(c2.Leaf.IPAddresses) != 0 {
		t.Error("second WriteSelfSigned did not replace the certificate")
	}
}

// chooser serves what Choose picks from list, and list[0] otherwise, as a
// listener does.
type chooser []*tls.Certificate

func (l chooser) GetCertificate(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := Choose(h, ServerName(h), l); c != nil {
		return c, nil
	}
	return l[0], nil
}

// handshake runs a real TLS handshake over net.Pipe with sel choosing the
// server certificate and returns the certificate the client received.
// rewriteSNI, when set, replaces the ServerName the selector sees (the Go
// client strips a trailing dot before sending it).
func handshake(t *testing.T, sel chooser, client *tls.Config, rewriteSNI *string) *x509.Certificate {
	t.Helper()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	srv := tls.Server(sc, &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if rewriteSNI != nil {
			h.ServerName = *rewriteSNI
		}
		return sel.GetCertificate(h)
	}})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	cl := tls.Client(cc, client)
	if err := cl.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return cl.ConnectionState().PeerCertificates[0]
}

func TestSelectorGetCertificate(t *testing.T) {
	r2048, r3072 := rsaKeys(t)
	year := time.Now().Add(365 * 24 * time.Hour)
	certs := map[string]*tls.Certificate{
		"default":      makeCert(t, r2048, year, "default.test"),
		"exact-ec":     makeCert(t, ecKey(t), year, "exact.example.net"),
		"exact-rsa":    makeCert(t, r2048, year, "exact.example.net"),
		"wild":         makeCert(t, ecKey(t), year, "*.example.com"),
		"upper":        makeCert(t, ecKey(t), year, "MiXeD.Example.NET"),
		"big-2048":     makeCert(t, r2048, year, "big.example.org"),
		"big-3072":     makeCert(t, r3072, year, "big.example.org"),
		"exp-early":    makeCert(t, ecKey(t), year, "exp.example.org"),
		"exp-late":     makeCert(t, ecKey(t), year.Add(24*time.Hour), "exp.example.org"),
		"exp-earliest": makeCert(t, ecKey(t), year.Add(-24*time.Hour), "exp.example.org"),
	}
	// The default first, then an order that does not already rank them.
	order := []string{"default", "exp-early", "big-2048", "exact-rsa", "wild", "exp-late", "exact-ec", "big-3072", "upper", "exp-earliest"}
	list := make([]*tls.Certificate, len(order))
	for i, n := range order {
		list[i] = certs[n]
	}
	sel := chooser(list)

	rsaOnly := func(c *tls.Config) {
		c.MaxVersion = tls.VersionTLS12
		c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}
	}
	tls12 := func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		sni     string
		rewrite *string
		client  func(*tls.Config)
		want    string
	}{
		{name: "exact name prefers ECDSA", sni: "exact.example.net", want: "exact-ec"},
		{name: "exact name prefers ECDSA on TLS 1.2", sni: "exact.example.net", client: tls12, want: "exact-ec"},
		{name: "RSA-only client gets RSA", sni: "exact.example.net", client: rsaOnly, want: "exact-rsa"},
		{name: "RSA-only client and only ECDSA matches", sni: "a.example.com", client: rsaOnly, want: "default"},
		{name: "wildcard one label", sni: "a.example.com", want: "wild"},
		{name: "wildcard not two labels", sni: "a.b.example.com", want: "default"},
		{name: "wildcard not the apex", sni: "example.com", want: "default"},
		{name: "wildcard not a suffix match", sni: "aexample.com", want: "default"},
		{name: "upper-case SNI", sni: "EXACT.Example.NET", want: "exact-ec"},
		{name: "mixed-case certificate name", sni: "mixed.example.net", want: "upper"},
		{name: "trailing dot SNI", sni: "exact.example.net", rewrite: str("exact.example.net."), want: "exact-ec"},
		{name: "trailing dot and upper case", sni: "x", rewrite: str("A.EXAMPLE.COM."), want: "wild"},
		{name: "no SNI", want: "default"},
		{name: "no match", sni: "other.test", want: "default"},
		{name: "larger RSA key preferred", sni: "big.example.org", want: "big-3072"},
		{name: "later expiry preferred", sni: "exp.example.org", want: "exp-late"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true}
			if tt.client != nil {
				tt.client(cfg)
			}
			got := handshake(t, sel, cfg, tt.rewrite)
			if !bytes.Equal(got.Raw, certs[tt.want].Certificate[0]) {
				var name string
				for n, c := range certs {
					if bytes.Equal(c.Certificate[0], got.Raw) {
						name = n
					}
				}
				t.Errorf("served %q, want %q", name, tt.want)
			}
		})
	}
}
