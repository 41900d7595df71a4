package e2e

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/certs"
)

// This file drives TLS termination with real handshakes: security
// policies, mutual TLS, the X-Amzn-Tls-* and X-Amzn-Mtls-* headers,
// session resumption and ALPN. Every certificate is minted here.

// tlsKeyPair is a certificate minted by a test, with its key.
type tlsKeyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// tlsRSAKey is one RSA key shared by every RSA certificate of the run:
// generating RSA keys is slow and the tests need no more than one.
var tlsRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// tlsMint signs tmpl with parent (self-signed when parent is nil) for key,
// or for a fresh ECDSA P-256 key when key is nil.
func tlsMint(t *testing.T, tmpl *x509.Certificate, parent *tlsKeyPair, key crypto.Signer) *tlsKeyPair {
	t.Helper()
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &tlsKeyPair{cert: c, key: key}
}

// tlsCATemplate is a CA certificate named CN=cn,O=Sluice Test,C=US, valid
// for 30 days either side of now: long before the expired client
// certificates were issued, as a real CA is.
func tlsCATemplate(cn string, serial int64) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{Country: []string{"US"}, Organization: []string{"Sluice Test"}, CommonName: cn},
		NotBefore:             now.Add(-30 * 24 * time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// tlsClientTemplate is a client certificate named
// CN=cn,OU=Engineering,O=Example Corp,C=US, valid from an hour ago for a
// day, to the second.
func tlsClientTemplate(cn string, serial int64) *x509.Certificate {
	now := time.Now().Truncate(time.Second)
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject: pkix.Name{Country: []string{"US"}, Organization: []string{"Example Corp"},
			OrganizationalUnit: []string{"Engineering"}, CommonName: cn},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// tlsCert is kp as a TLS certificate that sends chain after the leaf.
func (kp *tlsKeyPair) tlsCert(chain ...*tlsKeyPair) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{kp.cert.Raw}, PrivateKey: kp.key, Leaf: kp.cert}
	for _, ca := range chain {
		c.Certificate = append(c.Certificate, ca.cert.Raw)
	}
	return c
}

// tlsPEM is the PEM text of the certificates, in order.
func tlsPEM(kps ...*tlsKeyPair) string {
	var b strings.Builder
	for _, kp := range kps {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.cert.Raw}))
	}
	return b.String()
}

// tlsEscapedPEM is a chain in the form of ALB's mTLS headers: the PEM,
// URL-encoded. PEM text needs only its spaces and line ends encoded;
// base64's + / = stay as they are (AWS's example value starts
// "-----BEGIN%20CERTIFICATE-----%0AMII").
func tlsEscapedPEM(kps ...*tlsKeyPair) string {
	return strings.NewReplacer(" ", "%20", "\n", "%0A").Replace(tlsPEM(kps...))
}

// tlsCRL is a PEM revocation list signed by ca that revokes serials.
func tlsCRL(t *testing.T, ca *tlsKeyPair, serials ...*big.Int) []byte {
	t.Helper()
	now := time.Now()
	l := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(24 * time.Hour)}
	for _, s := range serials {
		l.RevokedCertificateEntries = append(l.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, l, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// tlsWrite writes data to dir/name and returns the path.
func tlsWrite(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsRSAServerCert writes a self-signed RSA server certificate for
// localhost and 127.0.0.1 to dir and returns its certificate and key
// files. (The harness's {{.Cert}} is ECDSA: see certs.WriteSelfSigned.)
func tlsRSAServerCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := tlsRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	kp := tlsMint(t, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}, nil, key)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return tlsWrite(t, dir, "rsa.pem", []byte(tlsPEM(kp))),
		tlsWrite(t, dir, "rsa.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// tlsClient is a client config that trusts any server certificate and
// allows versions lo..hi and, when given, only suites.
func tlsClient(lo, hi uint16, suites ...uint16) *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: lo, MaxVersion: hi, CipherSuites: suites}
}

// tlsHandshake dials addr and completes a handshake with cfg.
func tlsHandshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState(), nil
}

// tlsExchange sends one GET / with headers hdr (name, value, …; names
// sent in the case given) on a new TLS connection to addr and returns
// the connection's state and the response with its body read, or the first
// error, handshake or HTTP.
func tlsExchange(addr string, cfg *tls.Config, hdr ...string) (tls.ConnectionState, *http.Response, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, nil, "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	c := nc.(*tls.Conn)
	req, _ := http.NewRequest("GET", "https://"+addr+"/", nil)
	req.Close = true
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header[hdr[i]] = append(req.Header[hdr[i]], hdr[i+1]) // names as given, not canonicalised
	}
	if err := req.Write(c); err != nil {
		return c.ConnectionState(), nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return c.ConnectionState(), nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The state is read last: a TLS 1.3 session ticket arrives after the
	// handshake.
	return c.ConnectionState(), resp, string(body), err
}

// tlsSeen is what the echo target saw of a request.
type tlsSeen struct {
	Header http.Header
}

// lbHeaders returns the headers the target saw whose names start with
// X-Amzn-Tls- or X-Amzn-Mtls-, the load balancer's own.
func (s tlsSeen) lbHeaders() http.Header {
	h := http.Header{}
	for k, v := range s.Header {
		if l := strings.ToLower(k); strings.HasPrefix(l, "x-amzn-tls-") || strings.HasPrefix(l, "x-amzn-mtls-") {
			h[k] = v
		}
	}
	return h
}

// tlsEchoBackend answers every request with the tlsSeen of it in JSON.
func tlsEchoBackend(t *testing.T) *backend {
	return newBackend(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(tlsSeen{Header: r.Header})
	})
}

// tlsDecode decodes what the echo target saw from a 200 response.
func tlsDecode(t *testing.T, resp *http.Response, body string) tlsSeen {
	t.Helper()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %q, want 200 from the echo target", resp.StatusCode, body)
	}
	var s tlsSeen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return s
}

// tlsHTTPClient is an HTTP client over cfg, speaking HTTP/2 when h2 (and
// the listener offers it) and HTTP/1.1 otherwise, a new connection a
// request.
func tlsHTTPClient(cfg *tls.Config, h2 bool) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg, ForceAttemptHTTP2: h2, DisableKeepAlives: true,
	}}
}

// tlsWantHeaders fails unless got holds exactly the headers of want, each
// once.
func tlsWantHeaders(t *testing.T, got, want http.Header) {
	t.Helper()
	for k, v := range got {
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("target got %s: %q, want none", k, v)
		case !slices.Equal(v, w):
			t.Errorf("target got %s:\n  %q\nwant\n  %q", k, v, w)
		}
	}
	for k, w := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("target got no %s, want %q", k, w)
		}
	}
}

// tlsKind is the key type of a certificate, which decides the TLS 1.0–1.2
// suites a listener serving it can negotiate: ECDHE_ECDSA ones with ECDSA,
// ECDHE_RSA and RSA key exchange ones with RSA.
type tlsKind string

const (
	tlsECDSA tlsKind = "ECDSA"
	tlsRSA   tlsKind = "RSA"
)

// tlsSuiteKind is the certificate kind suite s needs.
func tlsSuiteKind(s uint16) tlsKind {
	if strings.Contains(tls.CipherSuiteName(s), "_ECDSA_") {
		return tlsECDSA
	}
	return tlsRSA
}

// tlsLegacySuites are every TLS 1.0–1.2 suite crypto/tls implements,
// insecure ones included, so a policy is also checked to refuse those.
func tlsLegacySuites() []*tls.CipherSuite {
	var out []*tls.CipherSuite
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if slices.ContainsFunc(s.SupportedVersions, func(v uint16) bool { return v <= tls.VersionTLS12 }) {
			out = append(out, s)
		}
	}
	return out
}

// tlsCurves are every key exchange group crypto/tls implements.
var tlsCurves = []tls.CurveID{
	tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024,
	tls.X25519, tls.CurveP256, tls.CurveP384, tls.CurveP521,
}

// tlsOnly13 reports whether group g exists only in TLS 1.3 (the hybrid
// post-quantum ones).
func tlsOnly13(g tls.CurveID) bool {
	return g == tls.X25519MLKEM768 || g == tls.SecP256r1MLKEM768 || g == tls.SecP384r1MLKEM1024
}

var tlsVersions = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// tlsPolicyAllows reports whether policy p should negotiate suite s with
// a client allowing TLS 1.0–1.2: p lists s and allows a version s works
// in.
func tlsPolicyAllows(p certs.Policy, s *tls.CipherSuite) bool {
	return slices.Contains(p.Ciphers, s.ID) && slices.ContainsFunc(s.SupportedVersions, func(v uint16) bool {
		return p.MinVersion <= v && v <= min(p.MaxVersion, tls.VersionTLS12)
	})
}

// tlsPolicyAllowsVersion reports whether policy p should negotiate
// version v with a certificate of kind k: v is in range and, below TLS
// 1.3, p lists a suite usable in v with k.
func tlsPolicyAllowsVersion(p certs.Policy, v uint16, k tlsKind) bool {
	if v < p.MinVersion || v > p.MaxVersion {
		return false
	}
	if v == tls.VersionTLS13 {
		return true
	}
	for _, s := range tlsLegacySuites() {
		if slices.Contains(p.Ciphers, s.ID) && tlsSuiteKind(s.ID) == k && slices.Contains(s.SupportedVersions, v) {
			return true
		}
	}
	return false
}

// tlsPoliciesEnv starts one load balancer per security policy, each with an
// ECDSA and an RSA listener, plus one whose listeners name no policy (key
// ""). It returns the listeners' addresses by policy and certificate kind.
func tlsPoliciesEnv(t *testing.T) map[string]map[tlsKind]string {
	t.Helper()
	v := newVars(t, 0)
	rsaCert, rsaKey := tlsRSAServerCert(t, t.TempDir())
	addrs := map[string]map[tlsKind]string{}
	var b strings.Builder
	b.WriteString("version: 1\nload_balancers:\n")
	names := append([]string{""}, certs.PolicyNames()...)
	for i, name := range names {
		fmt.Fprintf(&b, "  - name: policy-%d\n    listeners:\n", i)
		addrs[name] = map[tlsKind]string{}
		for _, kind := range []tlsKind{tlsECDSA, tlsRSA} {
			port := freePort(t)
			addrs[name][kind] = fmt.Sprintf("127.0.0.1:%d", port)
			fmt.Fprintf(&b, "      - protocol: HTTPS\n        port: %d\n        address: 127.0.0.1\n        certificates: [%s]\n", port, strings.ToLower(string(kind)))
			if name != "" {
				fmt.Fprintf(&b, "        ssl_policy: %s\n", name)
			}
			b.WriteString("        default_actions: [{ type: fixed-response, fixed_response: { status_code: \"200\", message_body: ok } }]\n")
		}
	}
	fmt.Fprintf(&b, "certificates:\n  - { name: ecdsa, cert_file: %s, key_file: %s }\n  - { name: rsa, cert_file: %s, key_file: %s }\n",
		v["Cert"], v["Key"], rsaCert, rsaKey)
	start(t, b.String())
	return addrs
}

// TestTLSPolicies checks every security policy of certs.Policies with real
// handshakes: each version, TLS 1.0–1.2 suite and key exchange group
// crypto/tls implements is accepted exactly when the policy's data says so.
// Named cases pin AWS's documented behaviour on top.
func TestTLSPolicies(t *testing.T) {
	t.Parallel()
	addrs := tlsPoliciesEnv(t)
	const (
		def    = "" // a listener naming no policy: ELBSecurityPolicy-TLS13-1-2-2021-06
		tls13  = "ELBSecurityPolicy-TLS13-1-3-2021-06"
		res    = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
		ext1   = "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06"
		ext2   = "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06"
		pq     = "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09"
		fs2020 = "ELBSecurityPolicy-FS-1-2-Res-2020-10"
		tls12  = "ELBSecurityPolicy-TLS-1-2-2017-01"
		tls11  = "ELBSecurityPolicy-TLS-1-1-2017-01"
		p2016  = "ELBSecurityPolicy-2016-08"
	)

	t.Run("named", func(t *testing.T) {
		cases := []struct {
			name     string
			policy   string
			kind     tlsKind
			min, max uint16
			suite    uint16      // 0: the client's defaults
			curve    tls.CurveID // 0: the client's defaults
			ok       bool
		}{
			{"default refuses TLS 1.1", def, tlsECDSA, tls.VersionTLS11, tls.VersionTLS11, 0, 0, false},
			{"default refuses TLS 1.0", def, tlsRSA, tls.VersionTLS10, tls.VersionTLS10, 0, 0, false},
			{"default accepts TLS 1.2", def, tlsECDSA, tls.VersionTLS12, tls.VersionTLS12, 0, 0, true},
			{"default accepts TLS 1.3", def, tlsRSA, tls.VersionTLS13, tls.VersionTLS13, 0, 0, true},
			{"default accepts ECDHE-ECDSA-AES128-SHA256", def, tlsECDSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 0, true},
			{"default accepts ECDHE-RSA-AES128-SHA256", def, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 0, true},
			{"default refuses ECDHE-RSA-AES128-SHA", def, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, 0, false},
			{"default refuses RSA key exchange", def, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 0, false},
			{"default refuses ECDHE-ECDSA-CHACHA20-POLY1305", def, tlsECDSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0, false},
			{"default refuses an X25519MLKEM768-only client", def, tlsECDSA, tls.VersionTLS13, tls.VersionTLS13, 0, tls.X25519MLKEM768, false},
			{"default refuses a P-521-only client", def, tlsECDSA, tls.VersionTLS13, tls.VersionTLS13, 0, tls.CurveP521, false},
			{"default accepts a P-384-only client", def, tlsECDSA, tls.VersionTLS13, tls.VersionTLS13, 0, tls.CurveP384, true},
			{"TLS13-1-3 refuses TLS 1.2", tls13, tlsECDSA, tls.VersionTLS12, tls.VersionTLS12, 0, 0, false},
			{"TLS13-1-3 accepts TLS 1.3", tls13, tlsECDSA, tls.VersionTLS13, tls.VersionTLS13, 0, 0, true},
			{"TLS13-1-2-Res refuses ECDHE-ECDSA-AES128-SHA256", res, tlsECDSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 0, false},
			{"TLS13-1-2-Res accepts ECDHE-RSA-AES256-GCM-SHA384", res, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 0, true},
			{"FS-1-2-Res-2020-10 refuses TLS 1.3", fs2020, tlsECDSA, tls.VersionTLS13, tls.VersionTLS13, 0, 0, false},
			{"FS-1-2-Res-2020-10 accepts TLS 1.2", fs2020, tlsECDSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0, true},
			{"FS-1-2-Res-2020-10 refuses ECDHE-RSA-AES128-SHA256", fs2020, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 0, false},
			{"FS-1-2-Res-2020-10 negotiates TLS 1.2 with a TLS 1.3 client", fs2020, tlsECDSA, tls.VersionTLS12, tls.VersionTLS13, 0, 0, true},
			{"Ext1 accepts ECDHE-ECDSA-AES256-SHA", ext1, tlsECDSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 0, true},
			{"Ext1 refuses RSA key exchange", ext1, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 0, false},
			{"Ext2 accepts AES256-SHA", ext2, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_RSA_WITH_AES_256_CBC_SHA, 0, true},
			{"Ext2 refuses TLS 1.1", ext2, tlsRSA, tls.VersionTLS11, tls.VersionTLS11, 0, 0, false},
			{"PQ accepts X25519MLKEM768", pq, tlsECDSA, tls.VersionTLS13, tls.VersionTLS13, 0, tls.X25519MLKEM768, true},
			{"TLS-1-2-2017-01 accepts AES128-GCM-SHA256", tls12, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 0, true},
			{"TLS-1-2-2017-01 refuses AES128-SHA", tls12, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_CBC_SHA, 0, false},
			{"TLS-1-2-2017-01 refuses TLS 1.3", tls12, tlsRSA, tls.VersionTLS13, tls.VersionTLS13, 0, 0, false},
			{"TLS-1-1-2017-01 accepts TLS 1.1", tls11, tlsECDSA, tls.VersionTLS11, tls.VersionTLS11, 0, 0, true},
			{"TLS-1-1-2017-01 refuses TLS 1.0", tls11, tlsECDSA, tls.VersionTLS10, tls.VersionTLS10, 0, 0, false},
			{"2016-08 accepts TLS 1.0", p2016, tlsECDSA, tls.VersionTLS10, tls.VersionTLS10, 0, 0, true},
			{"2016-08 accepts AES128-SHA in TLS 1.0", p2016, tlsRSA, tls.VersionTLS10, tls.VersionTLS10, tls.TLS_RSA_WITH_AES_128_CBC_SHA, 0, true},
			{"2016-08 accepts AES128-GCM-SHA256", p2016, tlsRSA, tls.VersionTLS12, tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 0, true},
			{"2016-08 refuses DES-CBC3-SHA", p2016, tlsRSA, tls.VersionTLS10, tls.VersionTLS12, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, 0, false},
			{"2016-08 refuses TLS 1.3", p2016, tlsECDSA, tls.VersionTLS13, tls.VersionTLS13, 0, 0, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cfg := tlsClient(tc.min, tc.max)
				if tc.suite != 0 {
					cfg.CipherSuites = []uint16{tc.suite}
				}
				if tc.curve != 0 {
					cfg.CurvePreferences = []tls.CurveID{tc.curve}
				}
				cs, err := tlsHandshake(addrs[tc.policy][tc.kind], cfg)
				if !tc.ok {
					if err == nil {
						t.Fatalf("handshake succeeded with %s %s, want refused", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
					}
					return
				}
				if err != nil {
					t.Fatalf("handshake: %v", err)
				}
				if cs.Version < tc.min || cs.Version > tc.max {
					t.Errorf("negotiated %s", tls.VersionName(cs.Version))
				}
				if tc.suite != 0 && cs.CipherSuite != tc.suite {
					t.Errorf("negotiated %s, want %s", tls.CipherSuiteName(cs.CipherSuite), tls.CipherSuiteName(tc.suite))
				}
				if tc.curve != 0 && cs.CurveID != tc.curve {
					t.Errorf("negotiated group %s, want %s", cs.CurveID, tc.curve)
				}
			})
		}
	})

	t.Run("default is TLS13-1-2-2021-06", func(t *testing.T) {
		if certs.DefaultPolicy != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
			t.Errorf("certs.DefaultPolicy is %s", certs.DefaultPolicy)
		}
		// The listener naming no policy must behave as the one naming the
		// default, suite for suite.
		p, _ := certs.LookupPolicy(certs.DefaultPolicy)
		for _, s := range tlsLegacySuites() {
			cfg := tlsClient(tls.VersionTLS10, tls.VersionTLS12, s.ID)
			_, err := tlsHandshake(addrs[def][tlsSuiteKind(s.ID)], cfg)
			if ok := tlsPolicyAllows(p, s); ok != (err == nil) {
				t.Errorf("%s: accepted %v, want %v (%v)", s.Name, err == nil, ok, err)
			}
		}
	})

	for _, p := range certs.Policies {
		t.Run(p.Name, func(t *testing.T) {
			t.Parallel()
			addr := addrs[p.Name]
			t.Run("data", func(t *testing.T) {
				if p.MinVersion < tls.VersionTLS10 || p.MinVersion > p.MaxVersion || p.MaxVersion > tls.VersionTLS13 {
					t.Errorf("versions %s–%s", tls.VersionName(p.MinVersion), tls.VersionName(p.MaxVersion))
				}
				if (p.MinVersion <= tls.VersionTLS12) != (len(p.Ciphers) > 0) {
					t.Errorf("allows %s with %d TLS 1.2 suites", tls.VersionName(p.MinVersion), len(p.Ciphers))
				}
				for _, id := range p.Ciphers {
					if !slices.ContainsFunc(tlsLegacySuites(), func(s *tls.CipherSuite) bool { return s.ID == id }) {
						t.Errorf("lists %s, not a TLS 1.0–1.2 suite crypto/tls implements", tls.CipherSuiteName(id))
					}
				}
				for _, g := range p.Curves {
					if !slices.Contains(tlsCurves, g) {
						t.Errorf("lists group %s, which this test does not know", g)
					}
				}
			})
			t.Run("versions", func(t *testing.T) {
				for _, v := range tlsVersions {
					for _, kind := range []tlsKind{tlsECDSA, tlsRSA} {
						cs, err := tlsHandshake(addr[kind], tlsClient(v, v, tlsSuiteIDs(tlsLegacySuites())...))
						want := tlsPolicyAllowsVersion(p, v, kind)
						switch {
						case want && err != nil:
							t.Errorf("%s with an %s certificate: %v, want accepted", tls.VersionName(v), kind, err)
						case !want && err == nil:
							t.Errorf("%s with an %s certificate: accepted, want refused", tls.VersionName(v), kind)
						case want && cs.Version != v:
							t.Errorf("%s with an %s certificate: negotiated %s", tls.VersionName(v), kind, tls.VersionName(cs.Version))
						}
					}
				}
			})
			t.Run("suites", func(t *testing.T) {
				for _, s := range tlsLegacySuites() {
					cs, err := tlsHandshake(addr[tlsSuiteKind(s.ID)], tlsClient(tls.VersionTLS10, tls.VersionTLS12, s.ID))
					want := tlsPolicyAllows(p, s)
					switch {
					case want && err != nil:
						t.Errorf("%s: %v, want accepted", s.Name, err)
					case !want && err == nil:
						t.Errorf("%s: accepted in %s, want refused", s.Name, tls.VersionName(cs.Version))
					case want && cs.CipherSuite != s.ID:
						t.Errorf("%s: negotiated %s", s.Name, tls.CipherSuiteName(cs.CipherSuite))
					}
				}
			})
			t.Run("groups", func(t *testing.T) {
				// ECDHE suites only, so that TLS 1.2 too needs a group.
				var ecdhe []uint16
				for _, s := range tlsLegacySuites() {
					if strings.HasPrefix(s.Name, "TLS_ECDHE_RSA_") {
						ecdhe = append(ecdhe, s.ID)
					}
				}
				for _, g := range tlsCurves {
					cfg := tlsClient(tls.VersionTLS12, tls.VersionTLS13, ecdhe...)
					cfg.CurvePreferences = []tls.CurveID{g}
					cs, err := tlsHandshake(addr[tlsRSA], cfg)
					want := slices.Contains(p.Curves, g) && (!tlsOnly13(g) || p.MaxVersion == tls.VersionTLS13)
					switch {
					case want && err != nil:
						t.Errorf("%s: %v, want accepted", g, err)
					case !want && err == nil:
						t.Errorf("%s: accepted in %s, want refused", g, tls.VersionName(cs.Version))
					case want && cs.CurveID != g:
						t.Errorf("%s: negotiated %s", g, cs.CurveID)
					}
				}
			})
		})
	}
}

// tlsSuiteIDs are the IDs of suites.
func tlsSuiteIDs(suites []*tls.CipherSuite) []uint16 {
	ids := make([]uint16, len(suites))
	for i, s := range suites {
		ids[i] = s.ID
	}
	return ids
}

// tlsPKI is the certificates the mutual TLS tests use: a trusted root and
// an intermediate under it, an unknown CA, and client certificates.
type tlsPKI struct {
	root, inter, other *tlsKeyPair
	// good is issued by root: serial 03A5B1.
	good *tlsKeyPair
	// chained is issued by inter; the client sends inter along.
	chained *tlsKeyPair
	// revoked is issued by root and listed in crl.
	revoked *tlsKeyPair
	// expired is issued by root and expired yesterday.
	expired *tlsKeyPair
	// serverOnly is issued by root for server auth only.
	serverOnly *tlsKeyPair
	// stranger is issued by the unknown CA; selfSigned by no CA.
	stranger, selfSigned *tlsKeyPair
	// odd is issued by root with RFC 2253 specials, non-ASCII and a CR LF
	// in its subject.
	odd *tlsKeyPair

	// trustFile is the trust store: root alone.
	trustFile string
	// crl is root's CRL revoking revoked; crlGood revokes good too.
	crl, crlGood string
}

// newTLSPKI mints a tlsPKI and writes its trust store and CRLs to a
// temporary folder.
func newTLSPKI(t *testing.T) *tlsPKI {
	t.Helper()
	p := &tlsPKI{}
	p.root = tlsMint(t, tlsCATemplate("Sluice Test Root CA", 1), nil, nil)
	p.inter = tlsMint(t, tlsCATemplate("Sluice Test Issuing CA", 2), p.root, nil)
	p.other = tlsMint(t, tlsCATemplate("Unknown CA", 1), nil, nil)
	p.good = tlsMint(t, tlsClientTemplate("client-1", 0x03A5B1), p.root, nil)
	p.chained = tlsMint(t, tlsClientTemplate("client-2", 0x1001), p.inter, nil)
	p.revoked = tlsMint(t, tlsClientTemplate("client-revoked", 0x1002), p.root, nil)
	expired := tlsClientTemplate("client-expired", 0x1003)
	expired.NotBefore, expired.NotAfter = expired.NotBefore.Add(-72*time.Hour), expired.NotBefore.Add(-24*time.Hour)
	p.expired = tlsMint(t, expired, p.root, nil)
	serverOnly := tlsClientTemplate("server-only", 0x1004)
	serverOnly.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	p.serverOnly = tlsMint(t, serverOnly, p.root, nil)
	p.stranger = tlsMint(t, tlsClientTemplate("stranger", 0x1005), p.other, nil)
	p.selfSigned = tlsMint(t, tlsClientTemplate("self-signed", 0x1006), nil, nil)
	odd := tlsClientTemplate("Doe, John+Admin \"x\" <y>;\r\nX-Injected: 1", 0x2A)
	odd.Subject.Organization = []string{"Zoë #1 "}
	p.odd = tlsMint(t, odd, p.root, nil)

	dir := t.TempDir()
	p.trustFile = tlsWrite(t, dir, "trust.pem", []byte("# ALB trust store bundle\n"+tlsPEM(p.root)))
	p.crl = tlsWrite(t, dir, "revoked.crl.pem", tlsCRL(t, p.root, p.revoked.cert.SerialNumber))
	p.crlGood = tlsWrite(t, dir, "good.crl.pem", tlsCRL(t, p.root, p.revoked.cert.SerialNumber, p.good.cert.SerialNumber))
	return p
}

// tlsVerifyHeaders are the headers verify mode adds for leaf, with its
// serial number, issuer and subject as the target should see them.
func tlsVerifyHeaders(leaf *tlsKeyPair, serial, issuerDN, subjectDN string) http.Header {
	return http.Header{
		"X-Amzn-Mtls-Clientcert-Serial-Number": {serial},
		"X-Amzn-Mtls-Clientcert-Issuer":        {issuerDN},
		"X-Amzn-Mtls-Clientcert-Subject":       {subjectDN},
		"X-Amzn-Mtls-Clientcert-Validity": {"NotBefore=" + leaf.cert.NotBefore.UTC().Format("2006-01-02T15:04:05Z") +
			";NotAfter=" + leaf.cert.NotAfter.UTC().Format("2006-01-02T15:04:05Z")},
		"X-Amzn-Mtls-Clientcert-Leaf": {tlsEscapedPEM(leaf)},
	}
}

const tlsMTLSCfg = `version: 1
load_balancers:
  - name: mtls
    listeners:
      - protocol: HTTPS
        port: {{.P1}}
        address: 127.0.0.1
        certificates: [site]
        mutual_authentication:
          mode: verify
          trust_store: {{.Trust}}
          revocation_lists: [{{.CRL}}]
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        mutual_authentication: { mode: verify, trust_store: {{.Trust}}, ignore_client_certificate_expiry: true }
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P3}}
        address: 127.0.0.1
        certificates: [site]
        mutual_authentication: { mode: passthrough }
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P4}}
        address: 127.0.0.1
        certificates: [site]
        mutual_authentication: { mode: "off" }
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P5}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: forward, target_group: echo }]
target_groups:
  - name: echo
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`

// tlsCertRequests records the certificate requests a client gets.
type tlsCertRequests struct {
	mu       sync.Mutex
	requests []*tls.CertificateRequestInfo
}

// config is a client config for version that answers a certificate
// request with cert (nil: with none) and records it in r.
func (r *tlsCertRequests) config(version uint16, cert *tls.Certificate) *tls.Config {
	cfg := tlsClient(version, version)
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		r.mu.Lock()
		r.requests = append(r.requests, cri)
		r.mu.Unlock()
		if cert == nil {
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return cfg
}

func (r *tlsCertRequests) got() []*tls.CertificateRequestInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// TestTLSMutualAuthentication sends requests with and without client
// certificates through verify, passthrough and off listeners to an echo
// target, in TLS 1.2 and 1.3, over HTTP/1.1 and HTTP/2.
func TestTLSMutualAuthentication(t *testing.T) {
	t.Parallel()
	pki := newTLSPKI(t)
	b := tlsEchoBackend(t)
	v := newVars(t, 5)
	v["B1"], v["Trust"], v["CRL"] = b.port, pki.trustFile, pki.crl
	start(t, render(t, tlsMTLSCfg, v))
	addr := func(p string) string { return fmt.Sprintf("127.0.0.1:%d", v[p]) }

	const (
		rootDN  = "CN=Sluice Test Root CA,O=Sluice Test,C=US"
		interDN = "CN=Sluice Test Issuing CA,O=Sluice Test,C=US"
	)
	subject := func(cn string) string { return "CN=" + cn + ",OU=Engineering,O=Example Corp,C=US" }
	cert := func(kp *tlsKeyPair, chain ...*tlsKeyPair) *tls.Certificate { c := kp.tlsCert(chain...); return &c }

	cases := []struct {
		name    string
		port    string
		cert    *tls.Certificate // nil: none
		asked   bool             // whether the listener asks for a certificate
		refused bool
		want    http.Header // the X-Amzn-Tls-* and X-Amzn-Mtls-* headers the target gets
		wantCAs [][]byte    // the CA names the certificate request lists
	}{
		{name: "verify accepts a trusted certificate", port: "P1", cert: cert(pki.good), asked: true,
			want: tlsVerifyHeaders(pki.good, "03A5B1", rootDN, subject("client-1")), wantCAs: [][]byte{pki.root.cert.RawSubject}},
		{name: "verify accepts a chain through an intermediate", port: "P1", cert: cert(pki.chained, pki.inter), asked: true,
			want: tlsVerifyHeaders(pki.chained, "1001", interDN, subject("client-2"))},
		{name: "verify writes the subject in RFC 2253 form, escaped", port: "P1", cert: cert(pki.odd), asked: true,
			want: tlsVerifyHeaders(pki.odd, "2A", rootDN, `CN=Doe\, John\+Admin \"x\" \<y\>\;\0D\0AX-Injected: 1,OU=Engineering,O=Zo\C3\AB #1\ ,C=US`)},
		{name: "verify refuses no certificate", port: "P1", asked: true, refused: true},
		{name: "verify refuses an unknown CA", port: "P1", cert: cert(pki.stranger), asked: true, refused: true},
		{name: "verify refuses a self-signed certificate", port: "P1", cert: cert(pki.selfSigned), asked: true, refused: true},
		{name: "verify refuses a revoked certificate", port: "P1", cert: cert(pki.revoked), asked: true, refused: true},
		{name: "verify refuses an expired certificate", port: "P1", cert: cert(pki.expired), asked: true, refused: true},
		{name: "verify refuses a certificate without client auth usage", port: "P1", cert: cert(pki.serverOnly), asked: true, refused: true},
		{name: "verify refuses a chain the intermediate is missing from", port: "P1", cert: cert(pki.chained), asked: true, refused: true},
		{name: "verify ignoring expiry accepts an expired certificate", port: "P2", cert: cert(pki.expired), asked: true,
			want: tlsVerifyHeaders(pki.expired, "1003", rootDN, subject("client-expired"))},
		{name: "verify ignoring expiry still refuses an unknown CA", port: "P2", cert: cert(pki.stranger), asked: true, refused: true},
		{name: "verify ignoring expiry still refuses no certificate", port: "P2", asked: true, refused: true},
		{name: "passthrough accepts an unknown CA", port: "P3", cert: cert(pki.stranger), asked: true,
			want: http.Header{"X-Amzn-Mtls-Clientcert": {tlsEscapedPEM(pki.stranger)}}},
		{name: "passthrough forwards the chain as sent", port: "P3", cert: cert(pki.chained, pki.inter), asked: true,
			want: http.Header{"X-Amzn-Mtls-Clientcert": {tlsEscapedPEM(pki.chained, pki.inter)}}},
		{name: "passthrough accepts an expired certificate", port: "P3", cert: cert(pki.expired), asked: true,
			want: http.Header{"X-Amzn-Mtls-Clientcert": {tlsEscapedPEM(pki.expired)}}},
		{name: "passthrough accepts a revoked certificate", port: "P3", cert: cert(pki.revoked), asked: true,
			want: http.Header{"X-Amzn-Mtls-Clientcert": {tlsEscapedPEM(pki.revoked)}}},
		{name: "passthrough without a certificate", port: "P3", asked: true, want: http.Header{}},
		{name: "off never asks", port: "P4", cert: cert(pki.good), want: http.Header{}},
		{name: "no mutual_authentication never asks", port: "P5", cert: cert(pki.good), want: http.Header{}},
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
			t.Run(tls.VersionName(version)+"/"+proto, func(t *testing.T) {
				t.Parallel()
				for _, tc := range cases {
					t.Run(tc.name, func(t *testing.T) {
						var rec tlsCertRequests
						c := tlsHTTPClient(rec.config(version, tc.cert), proto == "HTTP/2")
						resp, err := c.Get("https://" + addr(tc.port) + "/")
						if tc.refused {
							if err == nil {
								resp.Body.Close()
								t.Fatalf("got %d, want the handshake refused", resp.StatusCode)
							}
							// In TLS 1.3 the server checks the certificate after
							// the client's handshake is done: the refusal is an
							// alert, or a closed connection the request ran into.
							if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
								t.Errorf("error %v, want refused at once", err)
							}
						} else {
							if err != nil {
								t.Fatalf("GET: %v", err)
							}
							body, _ := io.ReadAll(resp.Body)
							resp.Body.Close()
							if want := map[string]int{"HTTP/1.1": 1, "HTTP/2": 2}[proto]; resp.ProtoMajor != want {
								t.Errorf("client got %s, want %s", resp.Proto, proto)
							}
							seen := tlsDecode(t, resp, string(body))
							tlsWantHeaders(t, seen.lbHeaders(), tc.want)
							if seen.Header.Get("X-Injected") != "" {
								t.Error("a CR LF in the certificate's subject injected a header")
							}
						}
						reqs := rec.got()
						if asked := len(reqs) > 0; asked != tc.asked {
							t.Errorf("listener asked for a client certificate: %v, want %v", asked, tc.asked)
						}
						if tc.wantCAs != nil && len(reqs) > 0 && !slices.EqualFunc(reqs[0].AcceptableCAs, tc.wantCAs, slices.Equal) {
							t.Errorf("certificate request lists CAs %q, want %q", reqs[0].AcceptableCAs, tc.wantCAs)
						}
						if tc.port == "P3" && len(reqs) > 0 && len(reqs[0].AcceptableCAs) != 0 {
							t.Errorf("passthrough lists CAs %q, want none", reqs[0].AcceptableCAs)
						}
					})
				}
			})
		}
	}
}

const tlsHeadersCfg = `version: 1
load_balancers:
  - name: "on"
    x_amzn_tls_version_and_cipher_suite: true
    listeners:
      - protocol: HTTPS
        port: {{.P1}}
        address: 127.0.0.1
        certificates: [ecdsa]
        ssl_policy: ELBSecurityPolicy-2016-08
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [rsa]
        ssl_policy: ELBSecurityPolicy-2016-08
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTP
        port: {{.P3}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P4}}
        address: 127.0.0.1
        certificates: [ecdsa]
        mutual_authentication: { mode: verify, trust_store: {{.Trust}} }
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P7}}
        address: 127.0.0.1
        certificates: [ecdsa]
        mutual_authentication: { mode: passthrough }
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P8}}
        address: 127.0.0.1
        certificates: [ecdsa]
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P9}}
        address: 127.0.0.1
        certificates: [rsa]
        default_actions: [{ type: forward, target_group: echo }]
  - name: "off"
    listeners:
      - protocol: HTTPS
        port: {{.P5}}
        address: 127.0.0.1
        certificates: [ecdsa]
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTP
        port: {{.P6}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: echo }]
target_groups:
  - name: echo
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
certificates:
  - { name: ecdsa, cert_file: {{.Cert}}, key_file: {{.Key}} }
  - { name: rsa, cert_file: {{.RSACert}}, key_file: {{.RSAKey}} }
`

// tlsHeadersEnv starts tlsHeadersCfg: load balancer "on" has
// x_amzn_tls_version_and_cipher_suite; P1 (ECDSA) and P2 (RSA) allow TLS
// 1.0–1.2 and RSA key exchange, P8 (ECDSA) and P9 (RSA) TLS 1.2–1.3, P3 is
// HTTP, P4 verifies client certificates against pki's root and P7 passes
// them through. Load balancer "off" has the default attributes: P5 HTTPS,
// P6 HTTP.
func tlsHeadersEnv(t *testing.T, pki *tlsPKI) (url func(port string) string) {
	t.Helper()
	b := tlsEchoBackend(t)
	v := newVars(t, 9)
	v["B1"], v["Trust"] = b.port, pki.trustFile
	v["RSACert"], v["RSAKey"] = tlsRSAServerCert(t, t.TempDir())
	start(t, render(t, tlsHeadersCfg, v))
	return func(p string) string {
		scheme := "https"
		if p == "P3" || p == "P6" {
			scheme = "http"
		}
		return fmt.Sprintf("%s://127.0.0.1:%d/", scheme, v[p])
	}
}

// tlsVersionHeaders are the headers x_amzn_tls_version_and_cipher_suite
// adds for a connection in version with suite, both in OpenSSL's names.
func tlsVersionHeaders(version, suite string) http.Header {
	return http.Header{"X-Amzn-Tls-Version": {version}, "X-Amzn-Tls-Cipher-Suite": {suite}}
}

// tlsMerge is the union of headers hs.
func tlsMerge(hs ...http.Header) http.Header {
	out := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

// TestTLSVersionAndCipherSuiteHeaders checks the X-Amzn-Tls-Version and
// X-Amzn-Tls-Cipher-Suite values, in OpenSSL's names, for each version and
// a range of suites, and that only HTTPS listeners of a load balancer with
// the attribute add them.
func TestTLSVersionAndCipherSuiteHeaders(t *testing.T) {
	t.Parallel()
	pki := newTLSPKI(t)
	url := tlsHeadersEnv(t, pki)
	good := pki.good.tlsCert()

	cases := []struct {
		name     string
		port     string
		min, max uint16
		suite    uint16 // 0: the client's defaults
		h2       bool
		cert     *tls.Certificate
		want     http.Header // nil: TLSv1.3 and the suite negotiated
	}{
		{name: "TLS 1.3", port: "P8", min: tls.VersionTLS13, max: tls.VersionTLS13},
		{name: "TLS 1.3 with an RSA certificate", port: "P9", min: tls.VersionTLS13, max: tls.VersionTLS13},
		{name: "TLS 1.3 over HTTP/2", port: "P8", min: tls.VersionTLS13, max: tls.VersionTLS13, h2: true},
		{name: "ECDHE-ECDSA-AES128-GCM-SHA256", port: "P1", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			want: tlsVersionHeaders("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")},
		{name: "ECDHE-ECDSA-AES256-GCM-SHA384 over HTTP/2", port: "P1", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, h2: true,
			want: tlsVersionHeaders("TLSv1.2", "ECDHE-ECDSA-AES256-GCM-SHA384")},
		{name: "ECDHE-ECDSA-AES128-SHA256", port: "P1", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
			want: tlsVersionHeaders("TLSv1.2", "ECDHE-ECDSA-AES128-SHA256")},
		{name: "TLS 1.1 ECDHE-ECDSA-AES256-SHA", port: "P1", min: tls.VersionTLS11, max: tls.VersionTLS11, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			want: tlsVersionHeaders("TLSv1.1", "ECDHE-ECDSA-AES256-SHA")},
		{name: "TLS 1.0 ECDHE-ECDSA-AES128-SHA", port: "P1", min: tls.VersionTLS10, max: tls.VersionTLS10, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
			want: tlsVersionHeaders("TLSv1", "ECDHE-ECDSA-AES128-SHA")},
		{name: "ECDHE-RSA-AES128-GCM-SHA256", port: "P2", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			want: tlsVersionHeaders("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")},
		{name: "ECDHE-RSA-AES256-GCM-SHA384", port: "P2", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			want: tlsVersionHeaders("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")},
		{name: "ECDHE-RSA-AES128-SHA256", port: "P2", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
			want: tlsVersionHeaders("TLSv1.2", "ECDHE-RSA-AES128-SHA256")},
		{name: "ECDHE-RSA-AES256-SHA", port: "P2", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			want: tlsVersionHeaders("TLSv1.2", "ECDHE-RSA-AES256-SHA")},
		{name: "AES128-GCM-SHA256", port: "P2", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
			want: tlsVersionHeaders("TLSv1.2", "AES128-GCM-SHA256")},
		{name: "AES256-GCM-SHA384", port: "P2", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
			want: tlsVersionHeaders("TLSv1.2", "AES256-GCM-SHA384")},
		{name: "AES128-SHA256", port: "P2", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
			want: tlsVersionHeaders("TLSv1.2", "AES128-SHA256")},
		{name: "TLS 1.0 AES256-SHA", port: "P2", min: tls.VersionTLS10, max: tls.VersionTLS10, suite: tls.TLS_RSA_WITH_AES_256_CBC_SHA,
			want: tlsVersionHeaders("TLSv1", "AES256-SHA")},
		{name: "with mutual TLS verify", port: "P4", min: tls.VersionTLS12, max: tls.VersionTLS12, suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, cert: &good,
			want: tlsMerge(tlsVersionHeaders("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"),
				tlsVerifyHeaders(pki.good, "03A5B1", "CN=Sluice Test Root CA,O=Sluice Test,C=US", "CN=client-1,OU=Engineering,O=Example Corp,C=US"))},
		{name: "HTTP listener adds none", port: "P3", want: http.Header{}},
		{name: "attribute off adds none", port: "P5", min: tls.VersionTLS13, max: tls.VersionTLS13, want: http.Header{}},
		{name: "attribute off adds none over HTTP/2", port: "P5", min: tls.VersionTLS12, max: tls.VersionTLS13, h2: true, want: http.Header{}},
		{name: "attribute off, HTTP listener adds none", port: "P6", want: http.Header{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tlsClient(tc.min, tc.max)
			if tc.suite != 0 {
				cfg.CipherSuites = []uint16{tc.suite}
			}
			if tc.cert != nil {
				cfg.Certificates = []tls.Certificate{*tc.cert}
			}
			resp, body := get(t, tlsHTTPClient(cfg, tc.h2), url(tc.port))
			seen := tlsDecode(t, resp, body)
			if tc.h2 && resp.ProtoMajor != 2 {
				t.Errorf("client got %s, want HTTP/2", resp.Proto)
			}
			want := tc.want
			if want == nil {
				if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
					t.Fatalf("client state %+v, want TLS 1.3", resp.TLS)
				}
				// TLS 1.3 suites keep their RFC 8446 names in OpenSSL.
				want = tlsVersionHeaders("TLSv1.3", tls.CipherSuiteName(resp.TLS.CipherSuite))
			}
			tlsWantHeaders(t, seen.lbHeaders(), want)
		})
	}
}

// tlsSpoofed are request headers a client could send to pass itself off
// as holding a certificate it does not have: every one of the load
// balancer's TLS headers, names under its prefixes it does not use, and
// one ordinary header that must get through.
var tlsSpoofed = []string{
	"X-Amzn-Tls-Version", "TLSv1",
	"X-Amzn-Tls-Cipher-Suite", "NULL-MD5",
	"X-Amzn-Tls-Made-Up", "1",
	"X-Amzn-Mtls-Clientcert", "-----BEGIN%20CERTIFICATE-----%0Aforged",
	"X-Amzn-Mtls-Clientcert-Serial-Number", "01",
	"X-Amzn-Mtls-Clientcert-Issuer", "CN=Forged CA",
	"X-Amzn-Mtls-Clientcert-Subject", "CN=admin",
	"X-Amzn-Mtls-Clientcert-Validity", "NotBefore=2000-01-01T00:00:00Z;NotAfter=2999-01-01T00:00:00Z",
	"X-Amzn-Mtls-Clientcert-Leaf", "forged",
	"X-Amzn-Mtls-Made-Up", "1",
	"X-Amzn-Other", "kept",
}

// tlsSpoofedRaw returns tlsSpoofed with the names in the case style given,
// sent twice, as a raw client would.
func tlsSpoofedRaw(lower bool) []string {
	var out []string
	for i := 0; i < len(tlsSpoofed); i += 2 {
		name := strings.ToUpper(tlsSpoofed[i])
		if lower {
			name = strings.ToLower(tlsSpoofed[i])
		}
		out = append(out, name, tlsSpoofed[i+1])
		if tlsSpoofed[i] != "X-Amzn-Other" {
			out = append(out, name, tlsSpoofed[i+1]+"-again")
		}
	}
	return out
}

// TestTLSHeadersSpoofed sends every X-Amzn-Tls-* and X-Amzn-Mtls-* header
// itself, on HTTP and HTTPS listeners, with the attribute on and off, with
// and without mutual TLS, over HTTP/1.1 (canonical and odd-cased names)
// and HTTP/2: the target gets the load balancer's values or nothing.
func TestTLSHeadersSpoofed(t *testing.T) {
	t.Parallel()
	pki := newTLSPKI(t)
	url := tlsHeadersEnv(t, pki)
	good, stranger := pki.good.tlsCert(), pki.stranger.tlsCert()
	goodHeaders := tlsVerifyHeaders(pki.good, "03A5B1", "CN=Sluice Test Root CA,O=Sluice Test,C=US", "CN=client-1,OU=Engineering,O=Example Corp,C=US")

	cases := []struct {
		name    string
		port    string
		cert    *tls.Certificate
		version bool        // the target gets X-Amzn-Tls-Version and -Cipher-Suite
		want    http.Header // the other load balancer headers the target gets
	}{
		{name: "HTTP listener, attribute on", port: "P3", want: http.Header{}},
		{name: "HTTP listener, attribute off", port: "P6", want: http.Header{}},
		{name: "HTTPS listener, attribute on", port: "P8", version: true, want: http.Header{}},
		{name: "HTTPS listener, attribute off", port: "P5", want: http.Header{}},
		{name: "mutual TLS verify", port: "P4", cert: &good, version: true, want: goodHeaders},
		{name: "mutual TLS passthrough without a certificate", port: "P7", version: true, want: http.Header{}},
		{name: "mutual TLS passthrough", port: "P7", cert: &stranger, version: true,
			want: http.Header{"X-Amzn-Mtls-Clientcert": {tlsEscapedPEM(pki.stranger)}}},
	}
	for _, tc := range cases {
		https := strings.HasPrefix(url(tc.port), "https:")
		cfg := func() *tls.Config {
			cfg := tlsClient(tls.VersionTLS12, tls.VersionTLS13)
			if tc.cert != nil {
				cfg.Certificates = []tls.Certificate{*tc.cert}
			}
			return cfg
		}
		check := func(t *testing.T, cs *tls.ConnectionState, seen tlsSeen) {
			t.Helper()
			want := tc.want
			if tc.version {
				if cs == nil {
					t.Fatal("no TLS connection state")
				}
				want = tlsMerge(want, tlsVersionHeaders(map[uint16]string{tls.VersionTLS12: "TLSv1.2", tls.VersionTLS13: "TLSv1.3"}[cs.Version], tls.CipherSuiteName(cs.CipherSuite)))
			}
			tlsWantHeaders(t, seen.lbHeaders(), want)
			if g := seen.Header.Values("X-Amzn-Other"); !slices.Equal(g, []string{"kept"}) {
				t.Errorf("X-Amzn-Other %q, want [kept]", g)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Run("HTTP/1.1", func(t *testing.T) {
				resp, body := get(t, tlsHTTPClient(cfg(), false), url(tc.port), tlsSpoofed...)
				check(t, resp.TLS, tlsDecode(t, resp, body))
			})
			for _, lower := range []bool{true, false} {
				name := map[bool]string{true: "HTTP/1.1 lower-case names", false: "HTTP/1.1 upper-case names"}[lower]
				t.Run(name, func(t *testing.T) {
					if !https {
						var raw strings.Builder
						raw.WriteString("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
						hdr := tlsSpoofedRaw(lower)
						for i := 0; i < len(hdr); i += 2 {
							fmt.Fprintf(&raw, "%s: %s\r\n", hdr[i], hdr[i+1])
						}
						raw.WriteString("\r\n")
						_, text := rawRequest(t, strings.TrimSuffix(strings.TrimPrefix(url(tc.port), "http://"), "/"), raw.String())
						resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(text)), nil)
						if err != nil {
							t.Fatalf("parsing %q: %v", text, err)
						}
						body, _ := io.ReadAll(resp.Body)
						check(t, nil, tlsDecode(t, resp, string(body)))
						return
					}
					addr := strings.TrimSuffix(strings.TrimPrefix(url(tc.port), "https://"), "/")
					cs, resp, body, err := tlsExchange(addr, cfg(), tlsSpoofedRaw(lower)...)
					if err != nil {
						t.Fatal(err)
					}
					check(t, &cs, tlsDecode(t, resp, body))
				})
			}
			t.Run("HTTP/2", func(t *testing.T) {
				if !https {
					t.Skip("HTTP/2 needs TLS")
				}
				resp, body := get(t, tlsHTTPClient(cfg(), true), url(tc.port), tlsSpoofed...)
				if resp.ProtoMajor != 2 {
					t.Errorf("client got %s, want HTTP/2", resp.Proto)
				}
				check(t, resp.TLS, tlsDecode(t, resp, body))
			})
		})
	}
}

const tlsResumeCfg = `version: 1
load_balancers:
  - name: resume
    listeners:
      - protocol: HTTPS
        port: {{.P1}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: {{.Body}} } }]
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        mutual_authentication: { mode: verify, trust_store: {{.Trust}}, revocation_lists: [{{.CRL}}] }
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P3}}
        address: 127.0.0.1
        certificates: [site]
        mutual_authentication: { mode: passthrough }
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P4}}
        address: 127.0.0.1
        certificates: [site]
        ssl_policy: ELBSecurityPolicy-2016-08
        default_actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: {{.Body}} } }]
target_groups:
  - name: echo
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`

// tlsOfferedCache is a client session cache that counts the sessions it
// hands to the client for resumption.
type tlsOfferedCache struct {
	tls.ClientSessionCache
	mu      sync.Mutex
	offered int
}

func (c *tlsOfferedCache) Get(key string) (*tls.ClientSessionState, bool) {
	s, ok := c.ClientSessionCache.Get(key)
	if ok {
		c.mu.Lock()
		c.offered++
		c.mu.Unlock()
	}
	return s, ok
}

func (c *tlsOfferedCache) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offered
}

// TestTLSSessionResumption checks that TLS 1.2 and 1.3 clients resume
// their sessions, also after a reload (the ticket keys outlive it), that a
// resumed mutual TLS session still carries the client certificate's
// headers, and that verify checks resumed sessions again: against a CRL
// added by a reload, and for tickets a passthrough listener issued. The
// ticket keys are shared by every listener, so a ticket must not carry a
// laxer policy or mode from one listener to another.
func TestTLSSessionResumption(t *testing.T) {
	t.Parallel()
	pki := newTLSPKI(t)
	b := tlsEchoBackend(t)
	v := newVars(t, 4)
	v["B1"], v["Trust"], v["CRL"], v["Body"] = b.port, pki.trustFile, pki.crl, "before"
	e := start(t, render(t, tlsResumeCfg, v))
	addr := func(p string) string { return fmt.Sprintf("127.0.0.1:%d", v[p]) }
	good := pki.good.tlsCert()

	type client struct {
		name       string
		plain, tls *tls.Config // to P1, and with a certificate to P2
		mtlsSeen   http.Header // the mTLS headers P2's target got first
	}
	var clients []*client
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := &client{name: tls.VersionName(version), plain: tlsClient(version, version), tls: tlsClient(version, version)}
		c.plain.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		c.tls.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		c.tls.Certificates = []tls.Certificate{good}
		clients = append(clients, c)
	}
	// exchange sends a request and checks whether it resumed and its body.
	exchange := func(t *testing.T, addr string, cfg *tls.Config, resumed bool, wantBody string) tlsSeen {
		t.Helper()
		cs, resp, body, err := tlsExchange(addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if cs.DidResume != resumed {
			t.Errorf("DidResume %v, want %v", cs.DidResume, resumed)
		}
		if wantBody != "" {
			if resp.StatusCode != 200 || body != wantBody {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, wantBody)
			}
			return tlsSeen{}
		}
		return tlsDecode(t, resp, body)
	}

	t.Run("first connections are full handshakes", func(t *testing.T) {
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				exchange(t, addr("P1"), c.plain, false, "before")
				c.mtlsSeen = exchange(t, addr("P2"), c.tls, false, "").lbHeaders()
				tlsWantHeaders(t, c.mtlsSeen, tlsVerifyHeaders(pki.good, "03A5B1",
					"CN=Sluice Test Root CA,O=Sluice Test,C=US", "CN=client-1,OU=Engineering,O=Example Corp,C=US"))
			})
		}
	})
	t.Run("second connections resume", func(t *testing.T) {
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				exchange(t, addr("P1"), c.plain, true, "before")
				tlsWantHeaders(t, exchange(t, addr("P2"), c.tls, true, "").lbHeaders(), c.mtlsSeen)
			})
		}
	})

	v["Body"] = "after"
	if err := e.reload(render(t, tlsResumeCfg, v)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	t.Run("sessions resume after a reload", func(t *testing.T) {
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				exchange(t, addr("P1"), c.plain, true, "after")
				tlsWantHeaders(t, exchange(t, addr("P2"), c.tls, true, "").lbHeaders(), c.mtlsSeen)
			})
		}
	})

	t.Run("verify refuses a passthrough listener's ticket", func(t *testing.T) {
		stranger := pki.stranger.tlsCert()
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tls.VersionName(version), func(t *testing.T) {
				// One cache for both ports: the client's key is the server
				// name, so it offers P3's ticket to P2.
				cache := &tlsOfferedCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
				cfg := tlsClient(version, version)
				cfg.ServerName, cfg.ClientSessionCache, cfg.Certificates = "localhost", cache, []tls.Certificate{stranger}
				exchange(t, addr("P3"), cfg, false, "")
				exchange(t, addr("P3"), cfg, true, "")
				offered := cache.count()
				if _, resp, _, err := tlsExchange(addr("P2"), cfg); err == nil {
					t.Errorf("verify listener answered %d to a passthrough session of an unknown CA's certificate, want refused", resp.StatusCode)
				}
				if cache.count() == offered {
					t.Error("the client offered no session to the verify listener; the test proves nothing")
				}
			})
		}
	})

	t.Run("a ticket does not carry a suite to a listener whose policy refuses it", func(t *testing.T) {
		// ECDHE-ECDSA-AES128-SHA is in 2016-08 (P4), not in the default (P1).
		cache := &tlsOfferedCache{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		cfg := tlsClient(tls.VersionTLS12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA)
		cfg.ServerName, cfg.ClientSessionCache = "localhost", cache
		exchange(t, addr("P4"), cfg, false, "after")
		exchange(t, addr("P4"), cfg, true, "after")
		offered := cache.count()
		if cs, err := tlsHandshake(addr("P1"), cfg); err == nil {
			t.Errorf("default policy listener resumed=%v with %s, want refused", cs.DidResume, tls.CipherSuiteName(cs.CipherSuite))
		}
		if cache.count() == offered {
			t.Error("the client offered no session to P1; the test proves nothing")
		}
	})

	v["CRL"] = pki.crlGood
	if err := e.reload(render(t, tlsResumeCfg, v)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	t.Run("verify refuses a session of a certificate revoked since", func(t *testing.T) {
		for _, c := range clients {
			t.Run(c.name, func(t *testing.T) {
				if _, resp, _, err := tlsExchange(addr("P2"), c.tls); err == nil {
					t.Errorf("got %d, want the resumed session of a revoked certificate refused", resp.StatusCode)
				}
				exchange(t, addr("P1"), c.plain, true, "after")
			})
		}
	})
}

const tlsALPNCfg = `version: 1
load_balancers:
  - name: h2
    listeners:
      - protocol: HTTPS
        port: {{.P1}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: served } }]
  - name: noh2
    http2_enabled: false
    listeners:
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: served } }]
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`

// TestTLSALPN checks protocol negotiation on listeners with HTTP/2 on and
// off, and that a client offering the ACME TLS-ALPN-01 protocol where no
// challenge is pending gets no HTTP answer.
func TestTLSALPN(t *testing.T) {
	t.Parallel()
	v := newVars(t, 2)
	start(t, render(t, tlsALPNCfg, v))
	addr := func(p string) string { return fmt.Sprintf("127.0.0.1:%d", v[p]) }

	t.Run("negotiation", func(t *testing.T) {
		cases := []struct {
			name   string
			port   string
			offer  []string
			want   string // the protocol negotiated
			h1Body bool   // an HTTP/1.1 request is answered
		}{
			{"h2 and http/1.1 get h2", "P1", []string{"h2", "http/1.1"}, "h2", false},
			{"http/1.1 only", "P1", []string{"http/1.1"}, "http/1.1", true},
			{"no ALPN", "P1", nil, "", true},
			{"acme-tls/1 among others is ignored", "P1", []string{"acme-tls/1", "http/1.1"}, "http/1.1", true},
			{"http2_enabled false: h2 and http/1.1 get http/1.1", "P2", []string{"h2", "http/1.1"}, "http/1.1", true},
			{"http2_enabled false: no ALPN", "P2", nil, "", true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cfg := tlsClient(tls.VersionTLS12, tls.VersionTLS13)
				cfg.NextProtos = tc.offer
				if !tc.h1Body {
					cs, err := tlsHandshake(addr(tc.port), cfg)
					if err != nil {
						t.Fatal(err)
					}
					if cs.NegotiatedProtocol != tc.want {
						t.Errorf("negotiated %q, want %q", cs.NegotiatedProtocol, tc.want)
					}
					return
				}
				cs, resp, body, err := tlsExchange(addr(tc.port), cfg)
				if err != nil {
					t.Fatal(err)
				}
				if cs.NegotiatedProtocol != tc.want {
					t.Errorf("negotiated %q, want %q", cs.NegotiatedProtocol, tc.want)
				}
				if resp.StatusCode != 200 || body != "served" {
					t.Errorf("got %d %q, want 200 served", resp.StatusCode, body)
				}
			})
		}
	})

	t.Run("HTTP/2 request", func(t *testing.T) {
		resp, body := get(t, tlsHTTPClient(tlsClient(tls.VersionTLS12, tls.VersionTLS13), true), "https://"+addr("P1")+"/")
		if resp.ProtoMajor != 2 || body != "served" {
			t.Errorf("got %s %q, want HTTP/2 served", resp.Proto, body)
		}
	})

	t.Run("acme-tls/1 gets no HTTP answer", func(t *testing.T) {
		cases := []struct {
			name, port string
			offer      []string
		}{
			{"acme-tls/1 only", "P1", []string{"acme-tls/1"}},
			{"acme-tls/1 only, HTTP/2 off", "P2", []string{"acme-tls/1"}},
			{"acme-tls/1 and an unknown protocol", "P1", []string{"acme-tls/1", "x-unknown/1"}},
			{"acme-tls/1 and an unknown protocol, HTTP/2 off", "P2", []string{"acme-tls/1", "x-unknown/1"}},
		}
		for _, tc := range cases {
			for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
				t.Run(tc.name+"/"+tls.VersionName(version), func(t *testing.T) {
					cfg := tlsClient(version, version)
					cfg.NextProtos = tc.offer
					cs, resp, _, err := tlsExchange(addr(tc.port), cfg)
					if err == nil {
						t.Fatalf("got %d after negotiating %q, want a failed handshake or a closed connection", resp.StatusCode, cs.NegotiatedProtocol)
					}
					if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
						t.Errorf("%v: want the connection refused or closed at once", err)
					}
					if cs.HandshakeComplete && cs.NegotiatedProtocol != "acme-tls/1" {
						t.Errorf("handshake done with %q, want acme-tls/1 or no handshake", cs.NegotiatedProtocol)
					}
				})
			}
		}
	})
}

// TestTLSVerifyHeadersNotForUnverifiedConnection pins a fixed bug: a
// connection accepted while its listener was in passthrough mode, with a
// certificate nothing verified, kept serving requests after a reload
// switched the listener to verify, and its requests then carried verify
// mode's X-Amzn-Mtls-Clientcert-Subject, -Issuer … for that certificate,
// fooling a target that trusts them. Now the certificate of an open
// connection is checked against the current settings before its next
// request, and one that fails gets 421 (retry on a new connection).
func TestTLSVerifyHeadersNotForUnverifiedConnection(t *testing.T) {
	t.Parallel()
	pki := newTLSPKI(t)
	b := tlsEchoBackend(t)
	v := newVars(t, 4)
	v["B1"], v["Trust"], v["CRL"], v["Body"] = b.port, pki.trustFile, pki.crl, "x"
	passthrough := render(t, tlsResumeCfg, v)
	e := start(t, passthrough)
	addr := fmt.Sprintf("127.0.0.1:%d", v["P3"])
	forged := tlsMint(t, tlsClientTemplate("admin", 1), nil, nil).tlsCert()

	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			if err := e.reload(passthrough); err != nil {
				t.Fatal(err)
			}
			cfg := tlsClient(tls.VersionTLS13, tls.VersionTLS13)
			cfg.Certificates = []tls.Certificate{forged}
			c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: proto == "HTTP/2"}}
			defer c.CloseIdleConnections()
			resp, body := get(t, c, "https://"+addr+"/")
			if tlsDecode(t, resp, body).lbHeaders().Get("X-Amzn-Mtls-Clientcert") == "" {
				t.Fatal("passthrough: no X-Amzn-Mtls-Clientcert")
			}
			verify := strings.Replace(passthrough, "mutual_authentication: { mode: passthrough }",
				"mutual_authentication: { mode: verify, trust_store: "+pki.trustFile+" }", 1)
			if err := e.reload(verify); err != nil {
				t.Fatal(err)
			}
			resp, err := c.Get("https://" + addr + "/")
			if err != nil {
				return // refused: fine
			}
			body2, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("status %d for a request on a connection whose certificate does not verify, want 421", resp.StatusCode)
			}
			if resp.StatusCode == 200 {
				if got := tlsDecode(t, resp, string(body2)).lbHeaders(); got.Get("X-Amzn-Mtls-Clientcert-Subject") != "" {
					t.Errorf("target got verify headers for a certificate nothing verified: %q", got)
				}
			}
		})
	}
}
