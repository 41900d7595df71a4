package cli

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCert is a minted certificate and its key.
type testCert struct {
	der []byte
	x   *x509.Certificate
	key *ecdsa.PrivateKey
}

func newTestKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mintCert makes a certificate for cn valid until notAfter, signed by
// parent (self-signed when nil); a CA when ca is set, else for DNS name cn.
func mintCert(t *testing.T, cn string, ca bool, notAfter time.Time, parent *testCert, key *ecdsa.PrivateKey) *testCert {
	t.Helper()
	if key == nil {
		key = newTestKey(t, elliptic.P256())
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		tmpl.DNSNames = []string{cn}
	}
	parentX, parentKey := tmpl, crypto.Signer(key)
	if parent != nil {
		parentX, parentKey = parent.x, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentX, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{der: der, x: x, key: key}
}

func pemCerts(cs ...*testCert) []byte {
	var b bytes.Buffer
	for _, c := range cs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.der})
	}
	return b.Bytes()
}

func pemKey(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCertCheck(t *testing.T) {
	year := time.Now().Add(365 * 24 * time.Hour)
	ca := mintCert(t, "Test CA", true, year, nil, nil)
	leaf := mintCert(t, "www.example.com", false, year, ca, nil)
	expired := mintCert(t, "www.example.com", false, time.Now().Add(-time.Minute), ca, leaf.key)
	soon := mintCert(t, "www.example.com", false, time.Now().Add(5*24*time.Hour), ca, leaf.key)
	p521Key := newTestKey(t, elliptic.P521())
	p521 := mintCert(t, "www.example.com", false, year, ca, p521Key)

	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"leaf.pem":      pemCerts(leaf),
		"chain.pem":     pemCerts(ca),
		"full.pem":      pemCerts(leaf, ca),
		"reversed.pem":  pemCerts(ca, leaf),
		"expired.pem":   pemCerts(expired, ca),
		"soon.pem":      pemCerts(soon, ca),
		"p521.pem":      pemCerts(p521, ca),
		"p521.key":      pemKey(t, p521Key),
		"leaf.der":      leaf.der,
		"leaf.key":      pemKey(t, leaf.key),
		"other.key":     pemKey(t, newTestKey(t, elliptic.P256())),
		"encrypted.key": pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
		"empty.pem":     nil,
	})
	f := func(name string) string { return filepath.Join(dir, name) }

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{name: "good bundle, key first, chain in its own file", args: []string{f("leaf.key"), f("leaf.pem"), f("chain.pem")},
			wantStdout: []string{"ok: CN=www.example.com\n", "dns names:  www.example.com\n", "issuer:     CN=Test CA\n",
				"key:        ECDSA P-256\n", "(364 days left)", "chain:      2 certificates, server certificate first\n"}},
		{name: "good bundle, full chain", args: []string{f("full.pem"), f("leaf.key")}, wantStdout: []string{"ok: CN=www.example.com\n"}},
		{name: "warnings only", args: []string{f("leaf.pem"), f("leaf.key")},
			wantStdout: []string{"ok: CN=www.example.com\n", "warning: " + f("leaf.pem") + ": holds no chain"}},
		{name: "expiring soon", args: []string{f("soon.pem"), f("leaf.key")},
			wantStdout: []string{"(4 days left)", "warning: " + f("soon.pem") + ": certificate 1 (CN=www.example.com) expires on"}},

		{name: "DER certificate", args: []string{f("leaf.der"), f("leaf.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("leaf.der") + ": holds a DER (binary) certificate", "openssl x509 -inform der -in " + f("leaf.der") + " -out " + f("leaf.pem")},
			wantStderr: "sluice: cert check: 1 error, 0 warnings\n"},
		{name: "encrypted key", args: []string{f("full.pem"), f("encrypted.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("encrypted.key") + ": holds an encrypted private key"}},
		{name: "empty file", args: []string{f("empty.pem"), f("leaf.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("empty.pem") + ": is empty"}},
		{name: "missing file", args: []string{f("full.pem"), f("leaf.key"), f("nope.pem")}, wantCode: 1,
			wantStdout: []string{"error: " + f("nope.pem") + ": does not exist"}},
		{name: "no key", args: []string{f("full.pem")}, wantCode: 1,
			wantStdout: []string{"error: no private key file given"}},
		{name: "two keys", args: []string{f("full.pem"), f("leaf.key"), f("other.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("other.key") + ": holds a private key too, besides " + f("leaf.key")}},
		{name: "key does not match", args: []string{f("full.pem"), f("other.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("other.key") + ": does not belong to certificate 1 (CN=www.example.com)"}},
		{name: "wrong order", args: []string{f("reversed.pem"), f("leaf.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("reversed.pem") + ": holds the certificates in the wrong order"}},
		{name: "wrong order across files", args: []string{f("chain.pem"), f("leaf.pem"), f("leaf.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("chain.pem") + ": holds the certificates in the wrong order"}},
		{name: "expired", args: []string{f("expired.pem"), f("leaf.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("expired.pem") + ": certificate 1 (CN=www.example.com) expired on"}},
		{name: "key type", args: []string{f("p521.pem"), f("p521.key")}, wantCode: 1,
			wantStdout: []string{"error: " + f("p521.pem") + ": certificate 1 (CN=www.example.com) has an ECDSA P-521 key"}},
		{name: "several problems", args: []string{f("expired.pem"), f("other.key")}, wantCode: 1,
			wantStdout: []string{"does not belong", "expired on"}, wantStderr: "sluice: cert check: 2 errors, 0 warnings\n"},

		{name: "no arguments", args: nil, wantCode: 2, wantStderr: "cert check: name the certificate and key files"},
		{name: "a folder among files", args: []string{dir, f("leaf.key")}, wantCode: 2, wantStderr: "is a folder; name either files or one certbot"},
		{name: "bad output format", args: []string{"-o", "yaml", f("full.pem")}, wantCode: 2, wantStderr: `-o "yaml": use text or json`},
		{name: "unknown flag", args: []string{"-x", f("full.pem")}, wantCode: 2, wantStderr: "flag provided but not defined: -x"},
		{name: "help", args: []string{"-h"}, wantCode: 0, wantStderr: "sluice cert check [-o json] FILES..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(append([]string{"cert", "check"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr)
			}
			if tt.wantCode == 1 && strings.Contains(stdout, "ok: ") {
				t.Errorf("a failing check printed a summary:\n%s", stdout)
			}
		})
	}
}

func TestCertCheckCertbotFolder(t *testing.T) {
	year := time.Now().Add(365 * 24 * time.Hour)
	ca := mintCert(t, "Test CA", true, year, nil, nil)
	leaf := mintCert(t, "www.example.com", false, year, ca, nil)
	tests := []struct {
		name       string
		files      map[string][]byte
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "fullchain.pem and privkey.pem", wantStdout: "chain:      2 certificates",
			files: map[string][]byte{"fullchain.pem": pemCerts(leaf, ca), "privkey.pem": pemKey(t, leaf.key), "cert.pem": pemCerts(leaf)}},
		{name: "cert.pem, chain.pem and privkey.pem", wantStdout: "chain:      2 certificates",
			files: map[string][]byte{"cert.pem": pemCerts(leaf), "chain.pem": pemCerts(ca), "privkey.pem": pemKey(t, leaf.key)}},
		{name: "no privkey.pem", wantCode: 1, wantStdout: "privkey.pem: does not exist",
			files: map[string][]byte{"fullchain.pem": pemCerts(leaf, ca)}},
		{name: "not a certbot folder", wantCode: 1, wantStderr: "holds neither fullchain.pem nor cert.pem",
			files: map[string][]byte{"site.crt": pemCerts(leaf)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			code, stdout, stderr := runMain("cert", "check", dir)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit code %d, want %d; want stdout with %q, stderr with %q\nstdout:\n%s\nstderr:\n%s",
					code, tt.wantCode, tt.wantStdout, tt.wantStderr, stdout, stderr)
			}
		})
	}
}

func TestCertCheckJSON(t *testing.T) {
	year := time.Now().Add(365 * 24 * time.Hour)
	ca := mintCert(t, "Test CA", true, year, nil, nil)
	leaf := mintCert(t, "www.example.com", false, year, ca, nil)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"full.pem":  pemCerts(leaf, ca),
		"leaf.key":  pemKey(t, leaf.key),
		"other.key": pemKey(t, newTestKey(t, elliptic.P256())),
	})
	type report struct {
		OK       bool `json:"ok"`
		Problems []struct {
			File    string `json:"file"`
			Message string `json:"message"`
			Warning bool   `json:"warning"`
		} `json:"problems"`
		Certificate *struct {
			Subject     string    `json:"subject"`
			DNSNames    []string  `json:"dns_names"`
			Issuer      string    `json:"issuer"`
			KeyType     string    `json:"key_type"`
			NotAfter    time.Time `json:"not_after"`
			DaysLeft    int       `json:"days_left"`
			ChainLength int       `json:"chain_length"`
		} `json:"certificate"`
	}
	decode := func(t *testing.T, s string) report {
		t.Helper()
		var r report
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, s)
		}
		return r
	}

	t.Run("good, flag after the files", func(t *testing.T) {
		code, stdout, _ := runMain("cert", "check", filepath.Join(dir, "full.pem"), filepath.Join(dir, "leaf.key"), "-o", "json")
		r := decode(t, stdout)
		c := r.Certificate
		if code != 0 || !r.OK || r.Problems == nil || len(r.Problems) != 0 || c == nil {
			t.Fatalf("code %d, report %s", code, stdout)
		}
		if c.Subject != "CN=www.example.com" || strings.Join(c.DNSNames, ",") != "www.example.com" || c.Issuer != "CN=Test CA" ||
			c.KeyType != "ECDSA P-256" || !c.NotAfter.Equal(leaf.x.NotAfter) || c.DaysLeft != 364 || c.ChainLength != 2 {
			t.Errorf("certificate = %+v", *c)
		}
		if !strings.Contains(stdout, `"problems": []`) {
			t.Errorf("problems is not an empty list:\n%s", stdout)
		}
	})
	t.Run("bad", func(t *testing.T) {
		code, stdout, stderr := runMain("cert", "check", "-o", "json", filepath.Join(dir, "full.pem"), filepath.Join(dir, "other.key"))
		r := decode(t, stdout)
		if code != 1 || r.OK || r.Certificate != nil || len(r.Problems) != 1 {
			t.Fatalf("code %d, report %s", code, stdout)
		}
		if p := r.Problems[0]; p.File != filepath.Join(dir, "other.key") || !strings.Contains(p.Message, "does not belong") || p.Warning {
			t.Errorf("problem = %+v", p)
		}
		if !strings.Contains(stderr, "1 error") {
			t.Errorf("stderr = %q", stderr)
		}
	})
}

func TestCertCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"cert"}, {"cert", "nope"}} {
		code, _, stderr := runMain(args...)
		if code != 2 || !strings.Contains(stderr, "Subcommands: check") {
			t.Errorf("%v: exit code %d, stderr:\n%s", args, code, stderr)
		}
	}
	if code, stdout, _ := runMain("cert", "help"); code != 0 || !strings.Contains(stdout, "sluice cert check") {
		t.Errorf("cert help: exit code %d, stdout:\n%s", code, stdout)
	}
}
