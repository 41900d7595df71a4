package certmgr_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/sluicelb/sluice/internal/certmgr"
	"github.com/sluicelb/sluice/internal/config"
)

// localRoot returns the local CA root kept in dataDir, as PEM and as a
// pool to verify leaves with.
func localRoot(t *testing.T, dataDir string) ([]byte, *x509.CertPool) {
	t.Helper()
	rootPEM, err := certmgr.RootPEM(context.Background(), certmgr.FileStorage(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("RootPEM returned no certificate:\n%s", rootPEM)
	}
	return rootPEM, pool
}

// obtained counts the certificates the local CA issued, by identifier.
func obtained(t *testing.T, l *logBuffer) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, line := range l.match(t, slog.LevelInfo, "certificate obtained") {
		n[fmt.Sprint(line["identifier"])]++
	}
	return n
}

// TestLocalCAIssues checks the leaves of an internal source for a name, a
// wildcard and an IP address: each verifies against the root RootPEM
// returns for the client's name or address, with the configured key type
// and lifetime.
func TestLocalCAIssues(t *testing.T) {
	p256 := func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P256() }
	p384 := func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P384() }
	rsa2048 := func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 2048 }
	tests := []struct {
		name         string
		fields       string // added to the entry
		key          func(any) bool
		keyName      string
		wantLifetime time.Duration
	}{
		{"defaults", "", p256, "ECDSA P-256", 168 * time.Hour},
		{"rsa2048", "key_type: rsa2048\n    lifetime: 48h\n", rsa2048, "RSA 2048", 48 * time.Hour},
		{"ec384", "key_type: ec384\n    lifetime: 90s\n", p384, "ECDSA P-384", 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := decodeConfig(t, dir, configYAML([]string{"dev"}, `
  - name: dev
    source: internal
    domains: [localhost, 127.0.0.1, "*.dev.test"]
    `+tt.fields))
			m, logs := newManager(t, certmgr.Options{DataDir: dir})
			before := time.Now()
			set := commit(t, m, cfg)
			after := time.Now()
			if got := obtained(t, logs); len(got) != 3 {
				t.Errorf("obtained %v, want one certificate per domain", got)
			}
			_, roots := localRoot(t, dir)
			get := getCertificateFunc(t, set, "dev")
			clients := []struct {
				serverName string // as the client verifies it
				sni        string // as the server sees it
			}{
				{"localhost", "localhost"},
				{"a.dev.test", "a.dev.test"},
				{"127.0.0.1", ""}, // no SNI for an address
			}
			for _, c := range clients {
				var sni string
				leaf, err := handshake(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
					sni = h.ServerName
					return get(h)
				}, &tls.Config{RootCAs: roots, ServerName: c.serverName})
				if err != nil {
					t.Fatalf("%s: %v", c.serverName, err)
				}
				if sni != c.sni {
					t.Errorf("%s: server saw SNI %q, want %q", c.serverName, sni, c.sni)
				}
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: c.serverName}); err != nil {
					t.Errorf("%s: %v", c.serverName, err)
				}
				if !tt.key(leaf.PublicKey) {
					t.Errorf("%s: leaf key is %T, want %s", c.serverName, leaf.PublicKey, tt.keyName)
				}
				lo, hi := before.Add(tt.wantLifetime-time.Second), after.Add(tt.wantLifetime+time.Second)
				if leaf.NotAfter.Before(lo) || leaf.NotAfter.After(hi) {
					t.Errorf("%s: leaf expires %v, want %s after issuance (%v–%v)", c.serverName, leaf.NotAfter, tt.wantLifetime, lo, hi)
				}
			}
		})
	}
}

// TestLocalCARootCreatedOnce pins that the root lives in storage: a
// restarted manager, and managers starting together, all issue under one
// root, and every private key on disk is readable by its owner only.
func TestLocalCARootCreatedOnce(t *testing.T) {
	yaml := configYAML([]string{"dev"}, `
  - name: dev
    source: internal
    domains: [site.test]
`)
	client := func(roots *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: roots, ServerName: "site.test"} }

	t.Run("restart", func(t *testing.T) {
		dir := t.TempDir()
		cfg := decodeConfig(t, dir, yaml)
		first, _ := newManager(t, certmgr.Options{DataDir: dir})
		get := getCertificateFunc(t, commit(t, first, cfg), "dev")
		rootPEM, roots := localRoot(t, dir)
		leaf1, err := handshake(get, client(roots))
		if err != nil {
			t.Fatal(err)
		}
		first.Close()

		second, logs := newManager(t, certmgr.Options{DataDir: dir})
		get = getCertificateFunc(t, commit(t, second, cfg), "dev")
		leaf2, err := handshake(get, client(roots))
		if err != nil {
			t.Fatalf("the restarted manager's leaf does not verify against the first root: %v", err)
		}
		if leaf2.SerialNumber.Cmp(leaf1.SerialNumber) != 0 {
			t.Errorf("the restarted manager serves serial %x, want the stored %x", leaf2.SerialNumber, leaf1.SerialNumber)
		}
		if got := obtained(t, logs); len(got) != 0 {
			t.Errorf("the restarted manager obtained %v, want nothing", got)
		}
		if again, _ := localRoot(t, dir); !bytes.Equal(again, rootPEM) {
			t.Error("the root changed across a restart")
		}

		var keys []string
		err = filepath.WalkDir(filepath.Join(dir, "tls"), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".key") {
				return err
			}
			keys = append(keys, path)
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("%s has mode %o, want 600", path, mode)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rootKey := filepath.Join(dir, "tls", "sluice", "local-ca", "root.key")
		if !slices.Contains(keys, rootKey) || len(keys) < 2 {
			t.Errorf("keys on disk: %q, want %s and the leaf's", keys, rootKey)
		}
	})

	t.Run("concurrent first use", func(t *testing.T) {
		dir := t.TempDir()
		cfg := decodeConfig(t, dir, yaml)
		const n = 3
		gets := make([]getCertFunc, n)
		var wg sync.WaitGroup
		for i := range gets {
			m, _ := newManager(t, certmgr.Options{DataDir: dir})
			wg.Go(func() {
				set, err := m.Prepare(cfg)
				if err != nil {
					t.Error(err)
					return
				}
				m.Commit(set)
				gets[i], err = set.GetCertificateFunc([]string{"dev"})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		_, roots := localRoot(t, dir)
		for i, get := range gets {
			if _, err := handshake(get, client(roots)); err != nil {
				t.Errorf("manager %d: %v", i, err)
			}
		}
	})
}

// TestLocalCAOnDemand pins on-demand issuance by the local CA: an allowed
// name gets a leaf at its first handshake; any other name gets none, and
// nothing is issued for it.
func TestLocalCAOnDemand(t *testing.T) {
	dir := t.TempDir()
	cfg := decodeConfig(t, dir, configYAML([]string{"dev"}, `
  - name: dev
    source: internal
    on_demand: { allowed_domains: ["*.ondemand.test"] }
`))
	m, logs := newManager(t, certmgr.Options{DataDir: dir})
	get := getCertificateFunc(t, commit(t, m, cfg), "dev")
	_, roots := localRoot(t, dir)
	st := certmgr.FileStorage(dir)
	ctx := context.Background()
	stored := func(name string) bool {
		return st.Exists(ctx, certmagic.StorageKeys.SiteCert(certmgr.LocalIssuerID, name))
	}
	if got := obtained(t, logs); len(got) != 0 {
		t.Fatalf("obtained %v before any handshake", got)
	}

	const name = "x.ondemand.test"
	if stored(name) {
		t.Fatalf("%s is stored before its first handshake", name)
	}
	before := time.Now()
	leaf, err := handshake(get, &tls.Config{RootCAs: roots, ServerName: name})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !slices.Equal(leaf.DNSNames, []string{name}) || leaf.NotAfter.Before(before.Add(config.DefaultInternalLifetime.D()-time.Second)) {
		t.Errorf("%s: served a leaf for %v until %v, want a new one for the name", name, leaf.DNSNames, leaf.NotAfter)
	}
	if !stored(name) {
		t.Errorf("%s: not in storage after issuance", name)
	}
	again, err := handshake(get, &tls.Config{RootCAs: roots, ServerName: name})
	if err != nil || again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("%s: second handshake got %v, %v; want the same leaf", name, again, err)
	}

	for _, refused := range []string{"x.other.test", "a.b.ondemand.test", "ondemand.test"} {
		leaf, err := handshake(get, &tls.Config{InsecureSkipVerify: true, ServerName: refused})
		want := fmt.Sprintf("no certificate available yet for %q", refused)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: handshake got %v, %v; want the server to fail with %q", refused, leaf, err, want)
		}
		if stored(refused) {
			t.Errorf("%s: a certificate was stored for a name not allowed", refused)
		}
	}
	if got := obtained(t, logs); len(got) != 1 || got[name] != 1 {
		t.Errorf("obtained %v, want one certificate for %s", got, name)
	}
}

// TestLocalCARenewal lowers an internal source's lifetime below what the
// config allows so that certmagic renews within the test: handshakes soon
// serve new leaves, and none fails across the swaps.
//
// certmagic counts the minute the local CA backdates NotBefore by into the
// lifetime and renews in its last third, so a lifetime under about 30s is
// due for renewal as soon as it is issued: this one is renewed at every
// check, each 200ms.
func TestLocalCARenewal(t *testing.T) {
	dir := t.TempDir()
	cfg := decodeConfig(t, dir, configYAML([]string{"dev"}, `
  - name: dev
    source: internal
    domains: [renew.test]
    lifetime: 1m
`))
	cfg.Certificates[0].Lifetime = config.Duration(6 * time.Second)
	m, _ := newManager(t, certmgr.Options{DataDir: dir, RenewCheckInterval: 200 * time.Millisecond})
	get := getCertificateFunc(t, commit(t, m, cfg), "dev")
	_, roots := localRoot(t, dir)
	client := &tls.Config{RootCAs: roots, ServerName: "renew.test"}
	first, err := handshake(get, client)
	if err != nil {
		t.Fatal(err)
	}
	if life := time.Until(first.NotAfter); life > 6*time.Second {
		t.Fatalf("first leaf expires in %s, want at most 6s", life)
	}

	h := startHandshakes(2, get, client)
	defer h.stop(t)
	start := time.Now()
	deadline := start.Add(15 * time.Second)
	seen := []string{first.SerialNumber.Text(16)}
	for len(seen) < 3 {
		leaf, err := handshake(get, client)
		if err != nil {
			t.Fatal(err)
		}
		if s := leaf.SerialNumber.Text(16); !slices.Contains(seen, s) {
			seen = append(seen, s)
			t.Logf("leaf %d served after %s", len(seen), time.Since(start).Round(time.Millisecond))
		}
		if time.Now().After(deadline) {
			t.Fatalf("served %d leaves in %s, want 3", len(seen), time.Since(start))
		}
		time.Sleep(20 * time.Millisecond) // certmagic renews in the background
	}
	h.wait(t, 2)
}

// TestLocalCAReload pins that a reload keeps what did not change: an
// identical entry keeps serving its leaf without issuing again, and a
// removed entry's source stops.
func TestLocalCAReload(t *testing.T) {
	dir := t.TempDir()
	entries := map[string]string{
		"dev": `
  - name: dev
    source: internal
    domains: [dev.test]
`,
		"other": `
  - name: other
    source: internal
    domains: [other.test]
`,
	}
	both := configYAML([]string{"dev", "other"}, entries["dev"]+entries["other"])
	m, logs := newManager(t, certmgr.Options{DataDir: dir})
	set1 := commit(t, m, decodeConfig(t, dir, both))
	_, roots := localRoot(t, dir)
	serial := func(set *certmgr.Set, name string) string {
		t.Helper()
		leaf, err := handshake(getCertificateFunc(t, set, name), &tls.Config{RootCAs: roots, ServerName: name + ".test"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return leaf.SerialNumber.Text(16)
	}
	dev, other := serial(set1, "dev"), serial(set1, "other")

	set2 := commit(t, m, decodeConfig(t, dir, both))
	if got := serial(set2, "dev"); got != dev {
		t.Errorf("after an identical reload dev serves serial %s, want %s", got, dev)
	}
	if set1.SourceStopped("dev") || set2.SourceStopped("dev") {
		t.Error("an identical reload stopped dev's source")
	}
	if got := obtained(t, logs); len(got) != 2 || got["dev.test"] != 1 || got["other.test"] != 1 {
		t.Errorf("obtained %v, want one certificate per domain across the reload", got)
	}

	set3 := commit(t, m, decodeConfig(t, dir, configYAML([]string{"other"}, entries["other"])))
	if !set2.SourceStopped("dev") {
		t.Error("removing dev did not stop its source")
	}
	if set3.SourceStopped("other") || serial(set3, "other") != other {
		t.Error("removing dev disturbed other")
	}
	if _, err := set3.GetCertificateFunc([]string{"dev"}); err == nil {
		t.Error("the new set still knows dev")
	}
}

// TestOnDemandRenewal pins a fixed bug: certmagic renews on-demand
// certificates only when a handshake asks it to, and sluice served them
// straight from the cache, so they were never renewed and were served
// expired.
func TestOnDemandRenewal(t *testing.T) {
	dir := t.TempDir()
	cfg := decodeConfig(t, dir, configYAML([]string{"dev"}, `
  - name: dev
    source: internal
    on_demand: { allowed_domains: ["*.ondemand.test"] }
`))
	cfg.Certificates[0].Lifetime = config.Duration(2 * time.Second)
	m, _ := newManager(t, certmgr.Options{DataDir: dir, RenewCheckInterval: 200 * time.Millisecond})
	get := getCertificateFunc(t, commit(t, m, cfg), "dev")
	_, roots := localRoot(t, dir)
	client := &tls.Config{RootCAs: roots, ServerName: "x.ondemand.test"}
	first, err := handshake(get, client)
	if err != nil {
		t.Fatal(err)
	}
	// certmagic counts a certificate as expired one second after NotAfter
	// (the resolution of X.509 times).
	time.Sleep(time.Until(first.NotAfter) + 1500*time.Millisecond)
	again, err := handshake(get, client)
	if err != nil {
		t.Fatalf("handshake after the first leaf expired: %v", err)
	}
	if again.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("the expired leaf is still served")
	}
}
