package acmetest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/libdns/rfc2136"
	"go.uber.org/zap"

	"github.com/sluicelb/sluice/internal/acmetest"
)

func TestMain(m *testing.M) {
	acmetest.Setenv()
	os.Exit(m.Run())
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newCertmagic returns a certmagic config whose only issuer is tmpl pointed
// at ca.
func newCertmagic(t *testing.T, ca *acmetest.Pebble, tmpl certmagic.ACMEIssuer) (*certmagic.Config, *certmagic.ACMEIssuer) {
	t.Helper()
	var cfg *certmagic.Config
	cache := certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return cfg, nil },
		Logger:           zap.NewNop(),
	})
	t.Cleanup(cache.Stop)
	cfg = certmagic.New(cache, certmagic.Config{
		Storage: &certmagic.FileStorage{Path: t.TempDir()},
		Logger:  zap.NewNop(),
	})
	tmpl.CA = ca.DirectoryURL()
	tmpl.TrustedRoots = ca.RootPool()
	tmpl.Agreed = true
	tmpl.Email = "ops@sluice.test"
	tmpl.DisableTLSALPNChallenge = true
	tmpl.Logger = zap.NewNop()
	iss := certmagic.NewACMEIssuer(cfg, tmpl)
	cfg.Issuers = []certmagic.Issuer{iss}
	return cfg, iss
}

// obtain gets a certificate for name and returns its chain, leaf first,
// after checking it verifies against the CA's issuing roots.
func obtain(t *testing.T, ca *acmetest.Pebble, cfg *certmagic.Config, iss *certmagic.ACMEIssuer, name string) []*x509.Certificate {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cfg.ObtainCertSync(ctx, name); err != nil {
		t.Fatalf("ObtainCertSync(%q): %v", name, err)
	}
	chainPEM, err := cfg.Storage.Load(ctx, certmagic.StorageKeys.SiteCert(iss.IssuerKey(), name))
	if err != nil {
		t.Fatalf("loading certificate: %v", err)
	}
	var chain []*x509.Certificate
	for block, rest := pem.Decode(chainPEM); block != nil; block, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		t.Fatal("no certificate in stored chain")
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: ca.IssuerRootPool(t), Intermediates: intermediates, DNSName: name}
	if name[0] == '*' {
		opts.DNSName = "anything" + name[1:]
	}
	if _, err := chain[0].Verify(opts); err != nil {
		t.Errorf("issued certificate does not verify: %v", err)
	}
	if n := ca.NewOrders(); n != 1 {
		t.Errorf("NewOrders() = %d, want 1", n)
	}
	return chain
}

// listen reserves a port of 127.0.0.1 for a server that starts later.
func listen(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().(*net.TCPAddr).Port
}

// serveHTTP01 answers http-01 challenges on ln through iss, as the load
// balancer's port-80 listener would.
func serveHTTP01(t *testing.T, ln net.Listener, iss *certmagic.ACMEIssuer) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !iss.HandleHTTPChallenge(w, r) {
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func TestHTTP01(t *testing.T) {
	t.Parallel()
	dnsSrv := acmetest.NewDNS(t, acmetest.DNSOptions{})

	// The challenge listener must exist before Pebble (which needs its port)
	// and serve after the issuer (which needs Pebble's URL).
	ln, port := listen(t)
	ca := acmetest.NewPebble(t, acmetest.PebbleOptions{
		HTTPPort:    port,
		TLSPort:     freePort(t),
		DNSResolver: dnsSrv.Addr(),
	})
	cfg, iss := newCertmagic(t, ca, certmagic.ACMEIssuer{
		ListenHost:  "127.0.0.1",
		AltHTTPPort: port, // certmagic finds it taken and leaves http-01 to serveHTTP01
	})
	serveHTTP01(t, ln, iss)

	chain := obtain(t, ca, cfg, iss, "www.example.test")
	if got := chain[0].DNSNames; len(got) != 1 || got[0] != "www.example.test" {
		t.Errorf("DNSNames = %q, want [www.example.test]", got)
	}
	if ca.Requests() == 0 {
		t.Error("Requests() = 0")
	}
}

func TestDNS01Wildcard(t *testing.T) {
	t.Parallel()
	dnsSrv := acmetest.NewDNS(t, acmetest.DNSOptions{})
	ca := acmetest.NewPebble(t, acmetest.PebbleOptions{
		HTTPPort:    freePort(t),
		TLSPort:     freePort(t),
		DNSResolver: dnsSrv.Addr(),
	})
	key := dnsSrv.Key()
	cfg, iss := newCertmagic(t, ca, certmagic.ACMEIssuer{
		DNS01Solver: &certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
			DNSProvider: &rfc2136.Provider{
				KeyName: key.Name,
				Key:     key.Secret,
				KeyAlg:  key.Algorithm,
				Server:  dnsSrv.Addr(),
			},
			// Find the zone (SOA) through the test server, not the system resolver.
			Resolvers: []string{dnsSrv.Addr()},
			// The record is served as soon as the update returns; checking
			// would only add certmagic's 2 s poll interval.
			PropagationTimeout: -1,
			Logger:             zap.NewNop(),
		}},
	})

	chain := obtain(t, ca, cfg, iss, "*.example.test")
	if got := chain[0].DNSNames; len(got) != 1 || got[0] != "*.example.test" {
		t.Errorf("DNSNames = %q, want [*.example.test]", got)
	}
	if n := dnsSrv.Updates(); n < 2 {
		t.Errorf("Updates() = %d, want at least 2 (present and clean up)", n)
	}
	if txt := dnsSrv.TXT("_acme-challenge.example.test"); len(txt) != 0 {
		t.Errorf("TXT after clean up = %q, want none", txt)
	}
}

func TestSetDown(t *testing.T) {
	t.Parallel()
	ca := acmetest.NewPebble(t, acmetest.PebbleOptions{})
	client := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.RootPool()}},
		Timeout:   5 * time.Second,
	}
	t.Cleanup(client.CloseIdleConnections)
	get := func() error {
		req, err := http.NewRequest(http.MethodGet, ca.DirectoryURL(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "acmetest")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("directory status %d", resp.StatusCode)
		}
		return nil
	}

	if err := get(); err != nil {
		t.Fatalf("directory before SetDown(true): %v", err)
	}
	ca.SetDown(true)
	for range 2 { // the second attempt needs a new connection too
		if err := get(); err == nil {
			t.Fatal("directory fetch succeeded while down")
		}
	}
	if n := ca.RefusedConns(); n < 2 {
		t.Errorf("RefusedConns() = %d, want at least 2", n)
	}
	ca.SetDown(false)
	if err := get(); err != nil {
		t.Fatalf("directory after SetDown(false): %v", err)
	}
	if n := ca.Requests(); n != 2 {
		t.Errorf("Requests() = %d, want 2", n)
	}
}

func TestCertValidity(t *testing.T) {
	t.Parallel()
	dnsSrv := acmetest.NewDNS(t, acmetest.DNSOptions{})
	ln, port := listen(t)
	ca := acmetest.NewPebble(t, acmetest.PebbleOptions{
		HTTPPort:     port,
		DNSResolver:  dnsSrv.Addr(),
		CertValidity: 30 * time.Second,
	})
	cfg, iss := newCertmagic(t, ca, certmagic.ACMEIssuer{ListenHost: "127.0.0.1", AltHTTPPort: port})
	serveHTTP01(t, ln, iss)

	leaf := obtain(t, ca, cfg, iss, "short.example.test")[0]
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got < 28*time.Second || got > 30*time.Second {
		t.Errorf("NotAfter-NotBefore = %v, want ≈30s", got)
	}
}
