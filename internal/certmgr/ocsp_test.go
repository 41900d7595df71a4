package certmgr

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/sluicelb/sluice/internal/config"
)

// TestFileCertificateStapled serves a file certificate whose CA runs an
// OCSP responder: handshakes carry the CA's response once it is fetched.
func TestFileCertificateStapled(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "OCSP test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	ca, _ := x509.ParseCertificate(caDER)

	var requests atomic.Int32
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		requests.Add(1)
		resp, _ := ocsp.CreateResponse(ca, ca, ocsp.Response{
			Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		}, caKey)
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	}))
	defer responder.Close()

	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "stapled.test"}, DNSNames: []string{"stapled.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(12 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer: []string{responder.URL},
	}, ca, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var chain bytes.Buffer
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	writePEM(t, filepath.Join(dir, "full.pem"), chain.Bytes())
	k, _ := x509.MarshalPKCS8PrivateKey(leafKey)
	writePEM(t, filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}))

	cfg, err := config.Decode(filepath.Join(dir, "sluice.yaml"), []byte(`version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTPS
        port: 443
        certificates: [site]
        default_actions: [{ type: fixed-response, fixed_response: { status_code: "200" } }]
certificates:
  - { name: site, cert_file: full.pem, key_file: key.pem }
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	set, err := m.Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.Commit(set)
	get, err := set.GetCertificateFunc([]string{"site"})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	deadline := time.Now().Add(10 * time.Second)
	for {
		staple := handshakeStaple(t, get, pool)
		if len(staple) > 0 {
			resp, err := ocsp.ParseResponseForCert(staple, nil, ca)
			if err != nil || resp.Status != ocsp.Good {
				t.Fatalf("stapled response: %v, status %v", err, resp)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no staple after 10s (%d OCSP requests)", requests.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writePEM(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func handshakeStaple(t *testing.T, get func(*tls.ClientHelloInfo) (*tls.Certificate, error), pool *x509.CertPool) []byte {
	t.Helper()
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	go tls.Server(sc, &tls.Config{GetCertificate: get}).Handshake()
	c := tls.Client(cc, &tls.Config{ServerName: "stapled.test", RootCAs: pool})
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState().OCSPResponse
}
