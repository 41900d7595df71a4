package action

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// awsExampleCertPEM is a fixed certificate built to carry the values of the
// example headers on AWS's page "Mutual authentication with TLS in
// Application Load Balancer": serial 03A5B1, the example issuer and
// subject, and the example validity.
const awsExampleCertPEM = `-----BEGIN CERTIFICATE-----
MIIBnzCCAVGgAwIBAgIDA6WxMAUGAytlcDBtMQswCQYDVQQGEwJVUzETMBEGA1UE
CBMKV2FzaGluZ3RvbjEQMA4GA1UEBxMHU2VhdHRsZTENMAsGA1UEChMEbVRMUzEP
MA0GA1UECxMGcm9vdENBMRcwFQYDVQQDDA5yb290Y2FtdGxzLmNvbTAeFw0yMzA5
MjEwMTUwMTdaFw0yNDA5MjAwMTUwMTdaMFoxCzAJBgNVBAYTAlVTMRMwEQYDVQQI
EwpXYXNoaW5ndG9uMQ0wCwYDVQQKEwRtVExTMREwDwYDVQQLDAhjbGllbnQtMzEU
MBIGA1UEAwwLY2xpZW50Xy5jb20wKjAFBgMrZXADIQDMDfmDjtyqbKeiYRr44UH1
zayWWJcoDGWH3TMMe+RctqMnMCUwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoG
CCsGAQUFBwMCMAUGAytlcANBADs8yjeuryPK7gjcOkxXqepQX6xSJnIn/Qs/9qkV
RtLbzmpQ9GMCGcfUjD8gnCK8IMFMA/aliGjJGMQT9Mr/mAI=
-----END CERTIFICATE-----
`

// awsExampleLeaf is awsExampleCertPEM as Python's
// urllib.parse.quote(pem, safe="+=/") writes it.
const awsExampleLeaf = "-----BEGIN%20CERTIFICATE-----%0AMIIBnzCCAVGgAwIBAgIDA6WxMAUGAytlcDBtMQswCQYDVQQGEwJVUzET" +
	"MBEGA1UE%0ACBMKV2FzaGluZ3RvbjEQMA4GA1UEBxMHU2VhdHRsZTENMAsGA1UEChMEbVRMUzEP%0AMA0GA1UECx" +
	"MGcm9vdENBMRcwFQYDVQQDDA5yb290Y2FtdGxzLmNvbTAeFw0yMzA5%0AMjEwMTUwMTdaFw0yNDA5MjAwMTUwMTd" +
	"aMFoxCzAJBgNVBAYTAlVTMRMwEQYDVQQI%0AEwpXYXNoaW5ndG9uMQ0wCwYDVQQKEwRtVExTMREwDwYDVQQLDAhj" +
	"bGllbnQtMzEU%0AMBIGA1UEAwwLY2xpZW50Xy5jb20wKjAFBgMrZXADIQDMDfmDjtyqbKeiYRr44UH1%0AzayWWJ" +
	"coDGWH3TMMe+RctqMnMCUwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoG%0ACCsGAQUFBwMCMAUGAytlcANBADs" +
	"8yjeuryPK7gjcOkxXqepQX6xSJnIn/Qs/9qkV%0ARtLbzmpQ9GMCGcfUjD8gnCK8IMFMA/aliGjJGMQT9Mr/mAI=" +
	"%0A-----END%20CERTIFICATE-----%0A"

// edgeCertPEM has a subject that exercises every escaping rule: RFC 2253
// specials, a leading space and #, a trailing space, CR LF and DEL, UTF-8,
// T61 (Latin-1), IA5 and BMP strings and a multi-valued RDN. Its expected subject is what
// `openssl x509 -noout -subject -nameopt RFC2253` (OpenSSL 3.0) prints.
const edgeCertPEM = `-----BEGIN CERTIFICATE-----
MIIBzDCCAX6gAwIBAgIEAI8A/zAFBgMrZXAwGTEXMBUGA1UEAwwOU2x1aWNlIFRl
c3QgQ0EwHhcNMjUwMTAyMDIwNDA1WhcNMzUwMTAyMDMwNDA1WjCB2TEXMBUGCgmS
JomT8ixkARkWB2V4YW1wbGUxCzAJBgNVBAYTAkNBMQ8wDQYDVQQIFAZRdeliZWMx
EzARBgNVBAoTCkFjbWUsIEluYy4xJDAPBgNVBAsMCGNsaWVudC0zMBEGCgmSJomT
8ixkAQEMA3U0MjERMA8GA1UEDB4IAE0AZwByAPwxDTALBgNVBAUTBFNOLTExHjAc
BgkqhkiG9w0BCQEWD29wc0BleGFtcGxlLmNvbTEjMCEGA1UEAwwaICNjbGllbnQr
MTs8eD4iXMOpDQo9ZW5kfyAwKjAFBgMrZXADIQBq9caODcYU+amg3B2pajubLaee
s//4hYKYYs0ZSU86naMnMCUwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsG
AQUFBwMCMAUGAytlcANBAHnVU4pgfRP9Anzi3ZMDflzyWwXgpxvChDV2WC/ZUO3X
RWA+yuL17J4leSZIwf+5jvr3D5j/TXI1vZ/AhlO9zgI=
-----END CERTIFICATE-----
`

const edgeSubject = `CN=\ #client\+1\;\<x\>\"\\\C3\A9\0D\0A=end\7F\ ,emailAddress=ops@example.com,` +
	`serialNumber=SN-1,title=Mgr\C3\BC,UID=u42+OU=client-3,O=Acme\, Inc.,ST=Qu\C3\A9bec,C=CA,DC=example`

// TestDistinguishedNameTypes covers values crypto/x509 refuses to parse,
// and so never hands over, but OpenSSL prints: a BIT STRING (dumped as DER),
// a UniversalString beyond the BMP, NumericString, and a multi-valued RDN
// (printed in reverse, as OpenSSL does). The Name is the subject of a
// certificate that `openssl x509 -noout -subject -nameopt RFC2253` printed
// as the expected value.
func TestDistinguishedNameTypes(t *testing.T) {
	raw, err := hex.DecodeString("3057310c300a06032a0304030300abcd3111300f060355040a1c08000000550001f600" +
		"310d300b060355040b1604696135203125300a06035504031203302031300a06035504081403743631" +
		"300b06035504071e0400230078")
	if err != nil {
		t.Fatal(err)
	}
	const want = `L=\#x+ST=t61+CN=0 1,OU=ia5\ ,O=U\F0\9F\98\80,1.2.3.4=#030300ABCD`
	if got := distinguishedName(raw); got != want {
		t.Errorf("distinguishedName = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "30", "3003310130", "300231000000"} {
		b, _ := hex.DecodeString(bad)
		if got := distinguishedName(b); got != "" {
			t.Errorf("distinguishedName(%s) = %q, want empty", bad, got)
		}
	}
}

func tlshParse(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tlshEscape URL-encodes certs' PEM independently of escapedPEM: with
// net/url's query escaping, then undoing it for "+=/" and "~" and writing a
// space as %20.
func tlshEscape(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		q := url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
		b.WriteString(strings.NewReplacer("+", "%20", "%2B", "+", "%3D", "=", "%2F", "/", "%7E", "~").Replace(q))
	}
	return b.String()
}

// tlshMint issues a throwaway certificate, self-signed when parent is nil.
func tlshMint(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  parent == nil,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func TestTLSHeaders(t *testing.T) {
	aws := tlshParse(t, awsExampleCertPEM)
	edge := tlshParse(t, edgeCertPEM)
	root, rootKey := tlshMint(t, "Root", nil, nil)
	leaf, _ := tlshMint(t, "client", root, rootKey)

	awsVerify := []Header{
		{"X-Amzn-Mtls-Clientcert-Serial-Number", "03A5B1"},
		{"X-Amzn-Mtls-Clientcert-Issuer", "CN=rootcamtls.com,OU=rootCA,O=mTLS,L=Seattle,ST=Washington,C=US"},
		{"X-Amzn-Mtls-Clientcert-Subject", "CN=client_.com,OU=client-3,O=mTLS,ST=Washington,C=US"},
		{"X-Amzn-Mtls-Clientcert-Validity", "NotBefore=2023-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z"},
		{"X-Amzn-Mtls-Clientcert-Leaf", awsExampleLeaf},
	}
	tls13 := []Header{{"X-Amzn-Tls-Version", "TLSv1.3"}, {"X-Amzn-Tls-Cipher-Suite", "TLS_AES_128_GCM_SHA256"}}
	cs := func(version, suite uint16, peers ...*x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{Version: version, CipherSuite: suite, PeerCertificates: peers}
	}
	both := func(mode string) TLSHeaderOptions { return TLSHeaderOptions{VersionAndCipher: true, MTLSMode: mode} }

	tests := []struct {
		name string
		cs   *tls.ConnectionState
		o    TLSHeaderOptions
		want []Header
	}{
		{"no connection state", nil, both("verify"), nil},
		{"nothing enabled", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, aws), TLSHeaderOptions{}, nil},
		{"version and cipher, TLS 1.3", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256), both(""), tls13},
		{"version and cipher, TLS 1.2", cs(tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), both("off"),
			[]Header{{"X-Amzn-Tls-Version", "TLSv1.2"}, {"X-Amzn-Tls-Cipher-Suite", "ECDHE-RSA-AES128-GCM-SHA256"}}},
		{"version and cipher, TLS 1.1", cs(tls.VersionTLS11, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA), both(""),
			[]Header{{"X-Amzn-Tls-Version", "TLSv1.1"}, {"X-Amzn-Tls-Cipher-Suite", "ECDHE-ECDSA-AES256-SHA"}}},
		{"version and cipher, TLS 1.0", cs(tls.VersionTLS10, tls.TLS_RSA_WITH_AES_128_CBC_SHA), both(""),
			[]Header{{"X-Amzn-Tls-Version", "TLSv1"}, {"X-Amzn-Tls-Cipher-Suite", "AES128-SHA"}}},
		{"unknown version and suite left out", cs(0x0300, 0xabcd), both(""), nil},
		{"verify", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, aws), TLSHeaderOptions{MTLSMode: "verify"}, awsVerify},
		{"verify after version and cipher", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, aws), both("verify"), append(tls13[:2:2], awsVerify...)},
		{"verify describes the leaf only", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, aws, edge), TLSHeaderOptions{MTLSMode: "verify"}, awsVerify},
		{"verify without a certificate", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256), TLSHeaderOptions{MTLSMode: "verify"}, nil},
		{"verify, escaped subject", cs(tls.VersionTLS12, 0, edge), TLSHeaderOptions{MTLSMode: "verify"}, []Header{
			{"X-Amzn-Mtls-Clientcert-Serial-Number", "8F00FF"},
			{"X-Amzn-Mtls-Clientcert-Issuer", "CN=Sluice Test CA"},
			{"X-Amzn-Mtls-Clientcert-Subject", edgeSubject},
			{"X-Amzn-Mtls-Clientcert-Validity", "NotBefore=2025-01-02T02:04:05Z;NotAfter=2035-01-02T03:04:05Z"},
			{"X-Amzn-Mtls-Clientcert-Leaf", tlshEscape(edge)},
		}},
		{"passthrough", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, aws), TLSHeaderOptions{MTLSMode: "passthrough"},
			[]Header{{"X-Amzn-Mtls-Clientcert", awsExampleLeaf}}},
		{"passthrough chain, leaf first as sent", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, leaf, root), both("passthrough"),
			append(tls13[:2:2], Header{"X-Amzn-Mtls-Clientcert", tlshEscape(leaf) + tlshEscape(root)})},
		{"passthrough without a certificate", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256), TLSHeaderOptions{MTLSMode: "passthrough"}, nil},
		{"off ignores a certificate", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, aws), TLSHeaderOptions{MTLSMode: "off"}, nil},
		{"empty mode ignores a certificate", cs(tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, aws), TLSHeaderOptions{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TLSHeaders(tt.cs, tt.o)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TLSHeaders =\n%q\nwant\n%q", got, tt.want)
			}
			for _, h := range got {
				if strings.ContainsAny(h.Value, "\r\n") {
					t.Errorf("%s holds CR or LF: %q", h.Name, h.Value)
				}
				if !IsLBTLSHeader([]byte(h.Name)) {
					t.Errorf("%s is not recognised by IsLBTLSHeader", h.Name)
				}
			}
		})
	}
}

// The golden leaf must also agree with the independent encoder, so the two
// ways of computing the expectation check each other.
func TestEscapedPEMIndependent(t *testing.T) {
	aws := tlshParse(t, awsExampleCertPEM)
	if got := tlshEscape(aws); got != awsExampleLeaf {
		t.Fatalf("independent encoding disagrees with the golden value:\n%s", got)
	}
	for _, c := range []*x509.Certificate{aws, tlshParse(t, edgeCertPEM)} {
		got := escapedPEM(c)
		if got != tlshEscape(c) {
			t.Errorf("escapedPEM = %s", got)
		}
		back, err := url.PathUnescape(got)
		if err != nil || back != string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})) {
			t.Errorf("does not decode back to the PEM: %v", err)
		}
	}
}

func TestCipherSuiteNames(t *testing.T) {
	seen := map[string]uint16{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		name := CipherSuiteName(s.ID)
		if name == "" {
			t.Errorf("%s has no OpenSSL name", s.Name)
			continue
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("%s and %s both named %s", tls.CipherSuiteName(prev), s.Name, name)
		}
		seen[name] = s.ID
		if isTLS13 := len(s.SupportedVersions) == 1 && s.SupportedVersions[0] == tls.VersionTLS13; isTLS13 != (name == s.Name) {
			t.Errorf("%s named %s: only TLS 1.3 suites keep their IANA names", s.Name, name)
		}
	}
	for id, want := range map[uint16]string{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:         "ECDHE-RSA-AES128-SHA256",
		tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:           "ECDHE-RSA-DES-CBC3-SHA",
		tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
		tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:                 "DES-CBC3-SHA",
		tls.TLS_RSA_WITH_RC4_128_SHA:                      "RC4-SHA",
		tls.TLS_AES_256_GCM_SHA384:                        "TLS_AES_256_GCM_SHA384",
		tls.TLS_CHACHA20_POLY1305_SHA256:                  "TLS_CHACHA20_POLY1305_SHA256",
	} {
		if got := CipherSuiteName(id); got != want {
			t.Errorf("%s = %s, want %s", tls.CipherSuiteName(id), got, want)
		}
	}
}

func TestSerialHex(t *testing.T) {
	for _, tt := range []struct {
		n    *big.Int
		want string
	}{
		{nil, ""},
		{big.NewInt(0), "00"},
		{big.NewInt(1), "01"},
		{big.NewInt(0x03A5B1), "03A5B1"},
		{big.NewInt(0x80), "80"}, // no DER sign byte
		{big.NewInt(-0x1234), "-1234"},
		{new(big.Int).SetBytes([]byte{0x5c, 0x6f, 0x62, 0x00, 0xb9, 0xc8, 0x37, 0xc9, 0x22, 0xa4, 0xea, 0x00, 0x10, 0x3b, 0x77, 0x2c, 0x54, 0x1d, 0x48, 0x2c}),
			"5C6F6200B9C837C922A4EA00103B772C541D482C"},
	} {
		if got := serialHex(tt.n); got != tt.want {
			t.Errorf("serialHex(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestIsLBTLSHeader(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"X-Amzn-Tls-Version", true},
		{"x-amzn-tls-cipher-suite", true},
		{"X-AMZN-MTLS-CLIENTCERT", true},
		{"x-Amzn-Mtls-Clientcert-Leaf", true},
		{"X-Amzn-Mtls-", true},
		{"X-Amzn-Mtls-Anything-Else", true},
		{"X-Amzn-Tls", false},
		{"X-Amzn-Mtls", false},
		{"X-Amzn-Trace-Id", false},
		{"X-Amzn-Tlsx-Version", false},
		{"X_Amzn_Tls_Version", false},
		{"Y-Amzn-Tls-Version", false},
		{" X-Amzn-Tls-Version", false},
		{"", false},
	} {
		if got := IsLBTLSHeader([]byte(tt.name)); got != tt.want {
			t.Errorf("IsLBTLSHeader(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	names := [][]byte{[]byte("X-Amzn-Mtls-Clientcert"), []byte("Content-Type"), []byte("x-amzn-tls-version")}
	if n := testing.AllocsPerRun(100, func() {
		for _, n := range names {
			IsLBTLSHeader(n)
		}
	}); n != 0 {
		t.Errorf("IsLBTLSHeader allocates %v times", n)
	}
}

func FuzzDistinguishedName(f *testing.F) {
	f.Add(tlshParseF(f, awsExampleCertPEM).RawSubject)
	f.Add(tlshParseF(f, edgeCertPEM).RawSubject)
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if s := distinguishedName(raw); strings.ContainsAny(s, "\r\n") {
			t.Fatalf("CR or LF in %q", s)
		}
	})
}

func tlshParseF(f *testing.F, s string) *x509.Certificate {
	b, _ := pem.Decode([]byte(s))
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		f.Fatal(err)
	}
	return c
}
