package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkNow is the fixed clock of the Check tests; certificates are minted
// around it.
var checkNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// certSpec describes a certificate to mint.
type certSpec struct {
	cn                  string
	dns                 []string
	ips                 []net.IP
	ca                  bool
	key                 crypto.Signer // nil: a new P-256 key
	notBefore, notAfter time.Time     // zero: checkNow-30d, checkNow+60d
	parent              *minted       // nil: self-signed
	ocsp                []string
	eku                 []x509.ExtKeyUsage // nil: server auth
}

// minted is a test certificate and its key.
type minted struct {
	der []byte
	x   *x509.Certificate
	key crypto.Signer
}

func mint(t testing.TB, s certSpec) *minted {
	t.Helper()
	if s.key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s.key = k
	}
	if s.notBefore.IsZero() {
		s.notBefore = checkNow.Add(-30 * 24 * time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = checkNow.Add(60 * 24 * time.Hour)
	}
	if s.eku == nil {
		s.eku = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: s.cn},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		DNSNames:              s.dns,
		IPAddresses:           s.ips,
		OCSPServer:            s.ocsp,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           s.eku,
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
	}
	if s.ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	parent, parentKey := tmpl, s.key
	if s.parent != nil {
		parent, parentKey = s.parent.x, s.parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, s.key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &minted{der: der, x: x, key: s.key}
}

func pemBlockOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs1PEM(k *rsa.PrivateKey) []byte {
	return pemBlockOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
}

func sec1PEM(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlockOf("EC PRIVATE KEY", der)
}

func pkcs8DER(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// checkPKI is the certificates the Check tests combine.
type checkPKI struct {
	root, inter, leaf, otherCA *minted
}

var (
	checkPKIOnce sync.Once
	sharedPKI    checkPKI
)

func newCheckPKI(t *testing.T) checkPKI {
	t.Helper()
	checkPKIOnce.Do(func() {
		p := &sharedPKI
		p.root = mint(t, certSpec{cn: "Test Root", ca: true})
		p.inter = mint(t, certSpec{cn: "Test Intermediate", ca: true, parent: p.root})
		p.leaf = mint(t, certSpec{cn: "www.example.com", dns: []string{"www.example.com", "example.com"}, parent: p.inter})
		p.otherCA = mint(t, certSpec{cn: "Other CA", ca: true})
	})
	return sharedPKI
}

// wantProblem is an expected Problem: its File, a stable part of its Msg,
// and whether it is a warning.
type wantProblem struct {
	file, msg string
	warning   bool
}

func assertProblems(t *testing.T, got []Problem, want []wantProblem) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		g, w := got[i], want[i]
		ok = g.File == w.file && strings.Contains(g.Msg, w.msg) && g.Warning == w.warning
	}
	if ok {
		return
	}
	var b strings.Builder
	for _, p := range got {
		b.WriteString("\n  ")
		if p.Warning {
			b.WriteString("warning: ")
		}
		b.WriteString(p.Error())
	}
	t.Errorf("got %d problems:%s\nwant %d: %+v", len(got), b.String(), len(want), want)
}

func TestCheck(t *testing.T) {
	p := newCheckPKI(t)
	r2048, _ := rsaKeys(t)
	leafKey := p.leaf.key.(*ecdsa.PrivateKey)
	leafPEM, interPEM, rootPEM := certPEM(p.leaf.der), certPEM(p.inter.der), certPEM(p.root.der)
	key := keyPEM(t, leafKey)
	leafFor := func(s certSpec) *minted {
		if s.cn == "" {
			s.cn = "www.example.com"
		}
		if s.dns == nil && s.ips == nil {
			s.dns = []string{"www.example.com"}
		}
		s.parent = p.inter
		return mint(t, s)
	}
	rsaLeaf := leafFor(certSpec{key: r2048})
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024Leaf, p521Leaf, edLeaf := leafFor(certSpec{key: rsa1024}), leafFor(certSpec{key: p521}), leafFor(certSpec{key: edKey})
	selfSigned := mint(t, certSpec{cn: "self.example.com", dns: []string{"self.example.com"}, key: leafKey})
	ipOnly := leafFor(certSpec{key: leafKey, ips: []net.IP{net.ParseIP("192.0.2.1")}})
	noSAN := leafFor(certSpec{key: leafKey, dns: []string{}})
	expired := leafFor(certSpec{key: leafKey, notBefore: checkNow.Add(-90 * 24 * time.Hour), notAfter: checkNow.Add(-2 * 24 * time.Hour)})
	future := leafFor(certSpec{key: leafKey, notBefore: checkNow.Add(3*24*time.Hour + time.Hour)})
	expiring := leafFor(certSpec{key: leafKey, notAfter: checkNow.Add(10*24*time.Hour + time.Hour)})
	oldInter := mint(t, certSpec{cn: "Old Intermediate", ca: true, parent: p.root, notAfter: checkNow.Add(-24 * time.Hour)})
	underOld := mint(t, certSpec{cn: "www.example.com", dns: []string{"www.example.com"}, key: leafKey, parent: oldInter})
	var many [][]byte
	for i := 0; i < 11; i++ {
		many = append(many, mint(t, certSpec{cn: "Bundle CA", ca: true}).der)
	}

	// The inter block damaged in its base64, after the leaf's lines.
	damagedInter := bytes.Replace(interPEM, []byte("\n"), []byte("\n!!!!\n"), 2)
	damagedLine := bytes.Count(leafPEM, []byte("\n")) + 1
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{
		"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: []byte("ciphertext")})

	const certF, keyF, chainF = "cert.pem", "key.pem", "chain.pem"
	tests := []struct {
		name  string
		b     Bundle
		bare  bool // no file names: the bundle came as bytes
		want  []wantProblem
		about string // why the problems are as they are, when not obvious
	}{
		// Bundles that pass.
		{name: "leaf and chain in one file, PKCS#8 EC key", b: Bundle{Cert: cat(leafPEM, interPEM), Key: key}},
		{name: "leaf and chain in separate files", b: Bundle{Cert: leafPEM, Chain: cat(interPEM, rootPEM), Key: key}},
		{name: "RSA PKCS#1 key", b: Bundle{Cert: cat(certPEM(rsaLeaf.der), interPEM), Key: pkcs1PEM(r2048)}},
		{name: "RSA PKCS#8 key", b: Bundle{Cert: certPEM(rsaLeaf.der), Chain: interPEM, Key: keyPEM(t, r2048)}},
		{name: "EC SEC 1 key after EC PARAMETERS", b: Bundle{Cert: cat(leafPEM, interPEM), Key: cat(pemBlockOf("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), sec1PEM(t, leafKey))}},
		{name: "self-signed leaf alone", b: Bundle{Cert: certPEM(selfSigned.der), Key: key}},
		{name: "IP address SAN only", b: Bundle{Cert: cat(certPEM(ipOnly.der), interPEM), Key: key}},
		{name: "CRLF line endings", b: Bundle{Cert: bytes.ReplaceAll(cat(leafPEM, interPEM), []byte("\n"), []byte("\r\n")), Key: key}},

		// Not PEM.
		{name: "DER certificate with a chain file", b: Bundle{Cert: p.leaf.der, Chain: interPEM, Key: key},
			about: "the chain's certificate is not judged as a server certificate",
			want:  []wantProblem{{file: certF, msg: "holds a DER (binary) certificate"}}},
		{name: "DER certificate", b: Bundle{Cert: p.leaf.der, Key: key},
			want: []wantProblem{{file: certF, msg: "holds a DER (binary) certificate, but sluice reads PEM; convert it: openssl x509 -inform der -in cert.pem -out cert-converted.pem"}}},
		{name: "DER key", b: Bundle{Cert: cat(leafPEM, interPEM), Key: pkcs8DER(t, leafKey)},
			want: []wantProblem{{file: keyF, msg: "holds a DER (binary) private key, but sluice reads PEM; convert it: openssl pkey -inform der -in key.pem -out key-converted.pem"}}},
		{name: "other binary", b: Bundle{Cert: []byte{0x30, 0x82, 1, 2, 3}, Key: key},
			want: []wantProblem{{file: certF, msg: "(a PKCS#12 .pfx/.p12 file?); sluice reads PEM: openssl pkcs12 -in cert.pem -clcerts -nokeys"}}},
		{name: "text without PEM", b: Bundle{Cert: []byte("hello\n"), Key: key},
			want: []wantProblem{{file: certF, msg: "holds no PEM block; it should hold PEM text starting with -----BEGIN CERTIFICATE-----"}}},
		{name: "empty certificate file", b: Bundle{Cert: []byte(" \n"), Key: key},
			want: []wantProblem{{file: certF, msg: "is empty; it should hold PEM text starting with -----BEGIN CERTIFICATE-----"}}},
		{name: "empty key file", b: Bundle{Cert: cat(leafPEM, interPEM)},
			want: []wantProblem{{file: keyF, msg: "is empty; it should hold PEM text starting with -----BEGIN PRIVATE KEY-----"}}},
		{name: "empty chain file", b: Bundle{Cert: cat(leafPEM, interPEM), Key: key, ChainFile: chainF},
			want: []wantProblem{{file: chainF, msg: "is empty"}}},
		{name: "damaged PEM block", b: Bundle{Cert: cat(leafPEM, damagedInter), Key: key},
			about: "the leaf alone is left, and it has no chain",
			want: []wantProblem{
				{file: certF, msg: "has a damaged PEM block at line " + strconv.Itoa(damagedLine) + " (a missing END line, or broken base64)"},
				{file: certF, msg: "holds no chain", warning: true}}},

		// Key file.
		{name: "encrypted PKCS#8 key", b: Bundle{Cert: cat(leafPEM, interPEM), Key: pemBlockOf("ENCRYPTED PRIVATE KEY", []byte("ciphertext"))},
			want: []wantProblem{{file: keyF, msg: "holds an encrypted private key (PEM block 1), but sluice needs it unencrypted; decrypt it with openssl pkey -in key.pem -out key-decrypted.pem"}}},
		{name: "legacy encrypted key", b: Bundle{Cert: cat(leafPEM, interPEM), Key: legacyEncrypted},
			want: []wantProblem{{file: keyF, msg: "holds an encrypted private key (PEM block 1)"}}},
		{name: "key file holds a certificate, no key", b: Bundle{Cert: cat(leafPEM, interPEM), Key: leafPEM},
			want: []wantProblem{
				{file: keyF, msg: "holds a certificate (PEM block 1), but a private key file holds only the key"},
				{file: keyF, msg: "holds no private key (no -----BEGIN PRIVATE KEY----- block)"}}},
		{name: "key file holds two keys", b: Bundle{Cert: cat(leafPEM, interPEM), Key: cat(key, pkcs1PEM(r2048))},
			want: []wantProblem{{file: keyF, msg: "holds 2 private keys; keep only the one that belongs to the certificate"}}},
		{name: "key file holds a public key", b: Bundle{Cert: cat(leafPEM, interPEM), Key: pemBlockOf("PUBLIC KEY", []byte{1})},
			want: []wantProblem{
				{file: keyF, msg: "holds a public key (PEM block 1), not the private key"},
				{file: keyF, msg: "holds no private key"}}},
		{name: "unsupported private key format", b: Bundle{Cert: cat(leafPEM, interPEM), Key: pemBlockOf("OPENSSH PRIVATE KEY", []byte{1})},
			want: []wantProblem{{file: keyF, msg: `holds a "OPENSSH PRIVATE KEY" (PEM block 1), which sluice cannot use`}}},
		{name: "unparsable key", b: Bundle{Cert: cat(leafPEM, interPEM), Key: pemBlockOf("PRIVATE KEY", []byte{1, 2, 3})},
			want: []wantProblem{{file: keyF, msg: "private key (PEM block 1) cannot be parsed"}}},
		{name: "key does not match", b: Bundle{Cert: cat(leafPEM, interPEM), Key: keyPEM(t, ecKey(t))},
			want: []wantProblem{{file: keyF, msg: "does not belong to certificate 1 (CN=www.example.com) of cert.pem; compare openssl x509 -noout -pubkey"}}},

		// Certificate file.
		{name: "certificate file holds a key", b: Bundle{Cert: cat(leafPEM, interPEM, key), Key: key},
			want: []wantProblem{{file: certF, msg: "holds a private key (PEM block 3), but a certificate file holds only certificates; give the key as the key file"}}},
		{name: "certificate file holds only a key", b: Bundle{Cert: key, Key: key},
			want: []wantProblem{
				{file: certF, msg: "holds a private key (PEM block 1)"},
				{file: certF, msg: "holds no certificate (no -----BEGIN CERTIFICATE----- block)"}}},
		{name: "certificate signing request", b: Bundle{Cert: cat(pemBlockOf("CERTIFICATE REQUEST", []byte{1}), leafPEM, interPEM), Key: key},
			want: []wantProblem{{file: certF, msg: "holds a certificate signing request (PEM block 1), not a certificate; send it to your CA"}}},
		{name: "unknown PEM block", b: Bundle{Cert: cat(leafPEM, interPEM, pemBlockOf("X509 CRL", []byte{1})), Key: key},
			want: []wantProblem{{file: certF, msg: `holds an unexpected PEM block "X509 CRL" (block 3); a certificate file holds only CERTIFICATE blocks`}}},
		{name: "unparsable certificate", b: Bundle{Cert: cat(leafPEM, interPEM, pemBlockOf("CERTIFICATE", []byte{1})), Key: key},
			want: []wantProblem{{file: certF, msg: "certificate 3 cannot be parsed"}}},
		{name: "no certificate given", b: Bundle{Key: pkcs1PEM(rsa1024)}, bare: true,
			want: []wantProblem{
				{file: "", msg: "no certificate file given"},
				{file: "", msg: "is an RSA 1024 key; sluice accepts RSA 2048–4096 and ECDSA P-256/P-384"}}},
		{name: "too many certificates", b: Bundle{Cert: certPEM(many...), Key: key},
			want: []wantProblem{{file: certF, msg: "holds 11 certificates, but a chain holds 2 to 4; is this a CA bundle"}}},

		// Chain order.
		{name: "wrong order, can be reordered", b: Bundle{Cert: certPEM(p.inter.der, p.leaf.der), Chain: rootPEM, Key: key},
			want: []wantProblem{{file: certF, msg: "holds the certificates in the wrong order; put the server certificate first, then each one's issuer: certificate 2 (CN=www.example.com), certificate 1 (CN=Test Intermediate), certificate 1 (CN=Test Root) of chain.pem"}}},
		{name: "wrong order, a CA first", b: Bundle{Cert: certPEM(p.otherCA.der, p.leaf.der), Key: key},
			want: []wantProblem{{file: certF, msg: "holds the certificates in the wrong order: certificate 1 (CN=Other CA) is a CA certificate but certificate 2 (CN=www.example.com) is not"}}},
		{name: "does not chain", b: Bundle{Cert: certPEM(p.leaf.der, p.otherCA.der), Key: key},
			want: []wantProblem{{file: certF, msg: `certificate 2 (CN=Other CA) does not chain: it did not issue certificate 1 (CN=www.example.com), which was issued by "CN=Test Intermediate"`}}},
		{name: "does not chain, across files", b: Bundle{Cert: leafPEM, Chain: cat(interPEM, certPEM(p.otherCA.der)), Key: key},
			want: []wantProblem{{file: chainF, msg: `certificate 2 (CN=Other CA) does not chain: it did not issue certificate 1 (CN=Test Intermediate), which was issued by "CN=Test Root"`}}},
		{name: "key belongs to a later certificate", b: Bundle{Cert: certPEM(mint(t, certSpec{cn: "a.example.com", dns: []string{"a.example.com"}}).der, p.leaf.der), Key: key},
			want: []wantProblem{
				{file: certF, msg: "certificate 2 (CN=www.example.com) does not chain: it did not issue certificate 1 (CN=a.example.com)"},
				{file: keyF, msg: "belongs to certificate 2 (CN=www.example.com) of cert.pem, not to certificate 1 (CN=a.example.com) of cert.pem, the server certificate"}}},
		{name: "chain repeated", b: Bundle{Cert: cat(leafPEM, interPEM), Chain: interPEM, Key: key},
			want: []wantProblem{{file: chainF, msg: "certificate 1 (CN=Test Intermediate) repeats certificate 2 (CN=Test Intermediate) of cert.pem; list each certificate once"}}},

		// Validity.
		{name: "not yet valid", b: Bundle{Cert: cat(certPEM(future.der), interPEM), Key: key},
			want: []wantProblem{{file: certF, msg: "certificate 1 (CN=www.example.com) is not valid until 2030-06-04 13:00 UTC (in 3 days); wait, or check this machine's clock"}}},
		{name: "expired", b: Bundle{Cert: cat(certPEM(expired.der), interPEM), Key: key},
			want: []wantProblem{{file: certF, msg: "certificate 1 (CN=www.example.com) expired on 2030-05-30 12:00 UTC (2 days ago); renew it"}}},
		{name: "expired intermediate", b: Bundle{Cert: certPEM(underOld.der), Chain: certPEM(oldInter.der), Key: key},
			want: []wantProblem{{file: chainF, msg: "certificate 1 (CN=Old Intermediate) expired on 2030-05-31 12:00 UTC (1 day ago); get the current one from your CA"}}},

		// Key types.
		{name: "RSA 1024", b: Bundle{Cert: cat(certPEM(rsa1024Leaf.der), interPEM), Key: pkcs1PEM(rsa1024)},
			want: []wantProblem{{file: certF, msg: "certificate 1 (CN=www.example.com) has an RSA 1024 key; sluice accepts RSA 2048–4096 and ECDSA P-256/P-384"}}},
		{name: "ECDSA P-521", b: Bundle{Cert: cat(certPEM(p521Leaf.der), interPEM), Key: sec1PEM(t, p521)},
			want: []wantProblem{{file: certF, msg: "has an ECDSA P-521 key"}}},
		{name: "Ed25519", b: Bundle{Cert: cat(certPEM(edLeaf.der), interPEM), Key: keyPEM(t, edKey)},
			want: []wantProblem{{file: certF, msg: "has an Ed25519 key"}}},

		// Warnings.
		{name: "no SAN", b: Bundle{Cert: cat(certPEM(noSAN.der), interPEM), Key: key},
			want: []wantProblem{{file: certF, msg: "certificate 1 (CN=www.example.com) names no DNS name or IP address (subject alternative name)", warning: true}}},
		{name: "expires within 30 days", b: Bundle{Cert: cat(certPEM(expiring.der), interPEM), Key: key},
			want: []wantProblem{{file: certF, msg: "certificate 1 (CN=www.example.com) expires on 2030-06-11 13:00 UTC (in 10 days); renew it", warning: true}}},
		{name: "no chain", b: Bundle{Cert: leafPEM, Key: key},
			want: []wantProblem{{file: certF, msg: `holds no chain: certificate 1 (CN=www.example.com) was issued by "CN=Test Intermediate", which is missing`, warning: true}}},

		{name: "every problem is reported", b: Bundle{Cert: cat(certPEM(noSAN.der), certPEM(p.otherCA.der), pemBlockOf("X509 CRL", []byte{1})), Key: cat(keyPEM(t, ecKey(t)), pemBlockOf("PUBLIC KEY", []byte{1})), Chain: certPEM(expired.der)},
			want: []wantProblem{
				{file: certF, msg: `unexpected PEM block "X509 CRL"`},
				{file: keyF, msg: "holds a public key"},
				{file: certF, msg: "certificate 2 (CN=Other CA) does not chain"},
				{file: chainF, msg: "certificate 1 (CN=www.example.com) does not chain: it did not issue certificate 2 (CN=Other CA) of cert.pem"},
				{file: keyF, msg: "does not belong to certificate 1 (CN=www.example.com) of cert.pem"},
				{file: chainF, msg: "certificate 1 (CN=www.example.com) expired"},
				{file: certF, msg: "names no DNS name or IP address", warning: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			if !tt.bare {
				b.CertFile, b.KeyFile = certF, keyF
			}
			if len(b.Chain) > 0 {
				b.ChainFile = chainF
			}
			if tt.about != "" {
				t.Log(tt.about)
			}
			assertProblems(t, Check(b, checkNow), tt.want)
		})
	}
}

func TestCheckPassingBundleLoads(t *testing.T) {
	// A bundle Check passes must load: Check is no stricter than it says
	// and no looser than LoadFiles.
	p := newCheckPKI(t)
	dir := t.TempDir()
	certFile := writeTestFile(t, dir, "cert.pem", certPEM(p.leaf.der))
	chainFile := writeTestFile(t, dir, "chain.pem", certPEM(p.inter.der))
	keyFile := writeTestFile(t, dir, "key.pem", sec1PEM(t, p.leaf.key.(*ecdsa.PrivateKey)))
	b, problems := CheckFiles(certFile, keyFile, chainFile, checkNow)
	assertProblems(t, problems, nil)
	if !bytes.Equal(b.Cert, certPEM(p.leaf.der)) || len(b.Key) == 0 || len(b.Chain) == 0 {
		t.Error("CheckFiles did not return the files' contents in the Bundle")
	}
	if _, err := LoadFiles(certFile, keyFile, chainFile); err != nil {
		t.Errorf("LoadFiles: %v", err)
	}
}

func TestCheckFiles(t *testing.T) {
	p := newCheckPKI(t)
	dir := t.TempDir()
	full := writeTestFile(t, dir, "fullchain.pem", certPEM(p.leaf.der, p.inter.der))
	key := writeTestFile(t, dir, "privkey.pem", keyPEM(t, p.leaf.key))
	large := writeTestFile(t, dir, "large.pem", bytes.Repeat([]byte("A"), maxFileSize+1))
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name             string
		cert, key, chain string
		want             []wantProblem
	}{
		{name: "good", cert: full, key: key},
		{name: "missing key file is reported once", cert: full, key: missing,
			want: []wantProblem{{file: missing, msg: "does not exist; check the path"}}},
		{name: "missing certificate file", cert: missing, key: key,
			want: []wantProblem{{file: missing, msg: "does not exist"}}},
		{name: "missing chain file", cert: full, key: key, chain: missing,
			want: []wantProblem{{file: missing, msg: "does not exist"}}},
		{name: "a directory", cert: dir, key: key,
			want: []wantProblem{{file: dir, msg: "cannot be read: is a directory"}}},
		{name: "too large", cert: full, key: key, chain: large,
			want: []wantProblem{{file: large, msg: "is larger than 1 MiB"}}},
		{name: "no key file", cert: full,
			want: []wantProblem{{file: "", msg: "no private key file given"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problems := CheckFiles(tt.cert, tt.key, tt.chain, checkNow)
			assertProblems(t, problems, tt.want)
		})
	}
}

func TestCheckFilesUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	dir := t.TempDir()
	f := writeTestFile(t, dir, "key.pem", []byte("x"))
	if err := os.Chmod(f, 0); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(f)
	want := Problem{File: f, Msg: "cannot be read: permission denied"}
	if err != want {
		t.Errorf("ReadFile error = %#v, want %#v", err, want)
	}
}

func TestProblemError(t *testing.T) {
	if got := (Problem{File: "a.pem", Msg: "is empty"}).Error(); got != "a.pem: is empty" {
		t.Errorf("Error() = %q", got)
	}
	if got := (Problem{Msg: "no private key file given"}).Error(); got != "no private key file given" {
		t.Errorf("Error() without a file = %q", got)
	}
}

func TestKeyType(t *testing.T) {
	r2048, r3072 := rsaKeys(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pub  crypto.PublicKey
		want string
	}{
		{r2048.Public(), "RSA 2048"}, {r3072.Public(), "RSA 3072"}, {ecKey(t).Public(), "ECDSA P-256"},
		{p384.Public(), "ECDSA P-384"}, {edPub, "Ed25519"},
	} {
		if got := KeyType(tt.pub); got != tt.want {
			t.Errorf("KeyType = %q, want %q", got, tt.want)
		}
	}
}

// BenchmarkCheck measures the config-load cost of checking a typical RSA
// bundle (leaf + intermediate + PKCS#1 key).
func BenchmarkCheck(b *testing.B) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	root := mint(b, certSpec{cn: "Bench Root", ca: true, key: rk})
	leaf := mint(b, certSpec{cn: "www.example.com", dns: []string{"www.example.com"}, key: rk, parent: root})
	bundle := Bundle{CertFile: "cert.pem", KeyFile: "key.pem", Cert: certPEM(leaf.der, root.der), Key: pkcs1PEM(rk)}
	b.ResetTimer()
	for b.Loop() {
		if ps := Check(bundle, checkNow); len(ps) > 0 {
			b.Fatal(ps)
		}
	}
}

func FuzzCheck(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	c := mint(f, certSpec{cn: "fuzz.example.com", dns: []string{"fuzz.example.com"}, key: k})
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	f.Add(certPEM(c.der), pemBlockOf("PRIVATE KEY", der))
	f.Add(c.der, der)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n!!\n-----BEGIN X-----\n"), []byte{0x30})
	f.Fuzz(func(t *testing.T, cert, key []byte) {
		for _, p := range Check(Bundle{CertFile: "c", KeyFile: "k", Cert: cert, Key: key}, checkNow) {
			if p.Msg == "" || (p.File != "c" && p.File != "k" && p.File != "") {
				t.Errorf("bad problem %+v", p)
			}
		}
	})
}
