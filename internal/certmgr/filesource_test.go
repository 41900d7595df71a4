package certmgr_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/certmgr"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/config"
)

// testCA is a root with an intermediate that signs leaves, as public CAs
// are.
type testCA struct {
	root, inter *x509.Certificate
	interKey    crypto.Signer
	interPEM    []byte
	pool        *x509.CertPool // the root
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	now := time.Now()
	rootKey := ecKey(t)
	root := sign(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "certmgr test root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, rootKey.Public(), rootKey)
	interKey := ecKey(t)
	inter := sign(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "certmgr test intermediate"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, root, interKey.Public(), rootKey)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return &testCA{root: root, inter: inter, interKey: interKey, interPEM: certPEM(inter), pool: pool}
}

// leaf is a certificate a testCA issued and its PKCS #8 key.
type leaf struct {
	cert   *x509.Certificate
	keyPEM []byte
}

func (l leaf) certPEM() []byte { return certPEM(l.cert) }

// fullchain is the leaf followed by the intermediate, as in certbot's
// fullchain.pem.
func (l leaf) fullchain(ca *testCA) []byte { return append(l.certPEM(), ca.interPEM...) }

// issue returns a leaf for names valid until notAfter, with an RSA 2048
// key when rsaKey is set, else ECDSA P-256.
func (ca *testCA) issue(t *testing.T, notAfter time.Time, rsaKey bool, names ...string) leaf {
	t.Helper()
	var key crypto.Signer = ecKey(t)
	if rsaKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	cert := sign(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    names,
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca.inter, key.Public(), ca.interKey)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return leaf{cert: cert, keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sign creates tmpl with a random serial, self-signed when parent is nil.
func sign(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, by crypto.Signer) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, by)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// lineage is a certbot lineage: dir/archive/NAME holds every version of
// the files, dir/live/NAME holds relative symlinks to the current one.
type lineage struct{ dir, name string }

// certbotKinds are the files of a lineage in the order certbot's
// update_all_links_to swaps them (storage.py, ALL_FOUR).
var certbotKinds = []string{"cert", "privkey", "chain", "fullchain"}

func (l lineage) live(kind string) string { return filepath.Join(l.dir, "live", l.name, kind+".pem") }

// addVersion writes version v of the lineage's files to its archive.
func (l lineage) addVersion(t *testing.T, v int, lf leaf, ca *testCA) {
	t.Helper()
	archive := filepath.Join(l.dir, "archive", l.name)
	if err := os.MkdirAll(archive, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"cert": lf.certPEM(), "privkey": lf.keyPEM, "chain": ca.interPEM, "fullchain": lf.fullchain(ca)}
	for kind, data := range files {
		mode := os.FileMode(0o644)
		if kind == "privkey" {
			mode = 0o600
		}
		writeFile(t, filepath.Join(archive, fmt.Sprintf("%s%d.pem", kind, v)), data, mode)
	}
}

// link points live/NAME/KIND.pem at version v, the way certbot does it.
func (l lineage) link(t *testing.T, kind string, v int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(l.live(kind)), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join("..", "..", "archive", l.name, fmt.Sprintf("%s%d.pem", kind, v))
	if err := os.Symlink(target, l.live(kind)); err != nil {
		t.Fatal(err)
	}
}

func (l lineage) unlink(t *testing.T, kind string) {
	t.Helper()
	if err := os.Remove(l.live(kind)); err != nil {
		t.Fatal(err)
	}
}

// handshaker runs handshakes in a loop on several goroutines until
// stopped. Each verifies the server's chain as client says and, when
// serials are given, that the leaf is one of them.
type handshaker struct {
	ok, failed atomic.Int64
	firstErr   atomic.Pointer[error]
	progress   chan struct{}
	stopc      chan struct{}
	wg         sync.WaitGroup
}

func startHandshakes(n int, get getCertFunc, client *tls.Config, serials ...*x509.Certificate) *handshaker {
	h := &handshaker{progress: make(chan struct{}, 1), stopc: make(chan struct{})}
	for range n {
		h.wg.Go(func() {
			for {
				select {
				case <-h.stopc:
					return
				default:
				}
				leaf, err := handshake(get, client)
				if err == nil && len(serials) > 0 && !slicesContainsSerial(serials, leaf) {
					err = fmt.Errorf("served serial %x, not one of the test's", leaf.SerialNumber)
				}
				if err != nil {
					h.failed.Add(1)
					h.firstErr.CompareAndSwap(nil, &err)
				} else {
					h.ok.Add(1)
				}
				select {
				case h.progress <- struct{}{}:
				default:
				}
			}
		})
	}
	return h
}

func slicesContainsSerial(certs []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range certs {
		if x.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return true
		}
	}
	return false
}

// wait returns once n handshakes have finished since it was called.
func (h *handshaker) wait(t *testing.T, n int) {
	t.Helper()
	select {
	case <-h.progress: // a handshake that may have finished before the call
	default:
	}
	timeout := time.After(20 * time.Second)
	for range n {
		select {
		case <-h.progress:
		case <-timeout:
			t.Fatal("handshakes stopped making progress")
		}
	}
}

func (h *handshaker) stop(t *testing.T) {
	t.Helper()
	close(h.stopc)
	h.wg.Wait()
	if p := h.firstErr.Load(); p != nil {
		t.Errorf("%d of %d handshakes failed; the first: %v", h.failed.Load(), h.failed.Load()+h.ok.Load(), *p)
	} else {
		t.Logf("%d concurrent handshakes, none failed", h.ok.Load())
	}
}

// wantServed runs one handshake and fails t unless it serves want.
func wantServed(t *testing.T, get getCertFunc, client *tls.Config, want *x509.Certificate, when string) {
	t.Helper()
	leaf, err := handshake(get, client)
	if err != nil {
		t.Fatalf("%s: handshake: %v", when, err)
	}
	if leaf.SerialNumber.Cmp(want.SerialNumber) != 0 {
		t.Fatalf("%s: served serial %x, want %x", when, leaf.SerialNumber, want.SerialNumber)
	}
}

const (
	filesCannotBeUsed = "certificate files cannot be used; still serving the previous certificate"
	filesValidAgain   = "certificate files are valid again"
	filesChanged      = "certificate files changed; serving the new certificate from the next handshake"
)

// TestCertbotRenewal swaps a certbot lineage's symlinks to a renewed
// certificate, one syscall at a time with a poll after each, while clients
// keep connecting: no handshake fails, the transient mismatch of
// certificate and key is not reported, and the new certificate is served
// once the last link points at it. A lineage left half swapped past the
// grace is reported once, and its repair once.
func TestCertbotRenewal(t *testing.T) {
	// certbot swaps the key before the full chain; the other way round
	// has the same moment where the two do not match.
	tests := []struct {
		name  string
		kinds []string // the order the links are swapped in
	}{
		{"fullchain then privkey", []string{"fullchain", "privkey"}},
		{"certbot order", certbotKinds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const interval = 100 * time.Millisecond
			dir := t.TempDir()
			ca := newTestCA(t)
			notAfter := time.Now().Add(90 * 24 * time.Hour)
			v1 := ca.issue(t, notAfter, false, "www.example.test")
			v2 := ca.issue(t, notAfter.Add(24*time.Hour), false, "www.example.test")
			v3 := ca.issue(t, notAfter.Add(48*time.Hour), false, "www.example.test")
			l := lineage{dir: dir, name: "www.example.test"}
			l.addVersion(t, 1, v1, ca)
			for _, kind := range certbotKinds {
				l.link(t, kind, 1)
			}
			cfg := decodeConfig(t, dir, configYAML([]string{"site"}, `
  - name: site
    cert_file: live/www.example.test/fullchain.pem
    key_file: live/www.example.test/privkey.pem
`))
			clk := clock.NewFake(time.Now())
			m, logs := newManager(t, certmgr.Options{Clock: clk, WatchInterval: interval})
			get := getCertificateFunc(t, commit(t, m, cfg), "site")
			client := &tls.Config{RootCAs: ca.pool, ServerName: "www.example.test"}
			wantServed(t, get, client, v1.cert, "before renewal")

			const workers = 4
			h := startHandshakes(workers, get, client, v1.cert, v2.cert, v3.cert)
			defer h.stop(t)
			step := func(do func()) {
				t.Helper()
				do()
				clk.Advance(interval)
				h.wait(t, workers)
			}

			l.addVersion(t, 2, v2, ca)
			for i, kind := range tt.kinds {
				step(func() { l.unlink(t, kind) })
				wantServed(t, get, client, v1.cert, "while "+kind+".pem is missing")
				step(func() { l.link(t, kind, 2) })
				if i < len(tt.kinds)-1 {
					wantServed(t, get, client, v1.cert, "after swapping "+kind+".pem")
				}
			}
			wantServed(t, get, client, v2.cert, "after swapping every link")
			if n := len(logs.match(t, slog.LevelError, "")); n != 0 {
				t.Errorf("%d errors logged for a renewal swapping its links; want none", n)
			}
			if got := logs.match(t, slog.LevelInfo, filesChanged); len(got) != 1 || got[0]["serial"] != v2.cert.SerialNumber.Text(16) {
				t.Errorf("logged %v, want one %q line with the new serial %x", got, filesChanged, v2.cert.SerialNumber)
			}

			// A renewal that stops half way: fullchain3 with privkey2. The
			// first poll after the swap finds the files broken; the poll
			// ReportAfter later reports it.
			l.addVersion(t, 3, v3, ca)
			l.unlink(t, "fullchain")
			l.link(t, "fullchain", 3)
			clk.Advance(interval)
			clk.Advance(certmgr.ReportAfter - interval)
			if got := logs.match(t, slog.LevelError, ""); len(got) != 0 {
				t.Fatalf("logged %v before the grace of %s was over", got, certmgr.ReportAfter)
			}
			h.wait(t, workers)
			wantServed(t, get, client, v2.cert, "while the files do not match")
			for range 2 {
				clk.Advance(interval)
				got := logs.match(t, slog.LevelError, "")
				if len(got) != 1 || got[0].msg() != filesCannotBeUsed || got[0]["certificate"] != "site" ||
					!strings.Contains(fmt.Sprint(got[0]["err"]), l.live("privkey")) {
					t.Fatalf("logged errors %v, want one %q for site naming privkey.pem", got, filesCannotBeUsed)
				}
				h.wait(t, workers)
				wantServed(t, get, client, v2.cert, "after the failure was reported")
				clk.Advance(10 * certmgr.ReportAfter) // not reported again
			}

			l.unlink(t, "privkey")
			l.link(t, "privkey", 3)
			clk.Advance(interval)
			wantServed(t, get, client, v3.cert, "after repairing the files")
			if got := logs.match(t, slog.LevelInfo, filesValidAgain); len(got) != 1 || got[0]["certificate"] != "site" {
				t.Errorf("logged %v, want one %q line for site", got, filesValidAgain)
			}
			if got := logs.match(t, slog.LevelError, ""); len(got) != 1 {
				t.Errorf("logged errors %v, want only the one reported before", got)
			}
			h.wait(t, workers)
		})
	}
}

// writeKeyPair writes lf's full chain and key to dir/NAME.pem and
// dir/NAME.key, dated an hour ago as files written by an earlier renewal
// would be: a rewrite cannot keep their modification time by chance.
func writeKeyPair(t *testing.T, dir, name string, lf leaf, ca *testCA) {
	t.Helper()
	certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writeFile(t, certFile, lf.fullchain(ca), 0o644)
	writeFile(t, keyFile, lf.keyPEM, 0o600)
	old := time.Now().Add(-time.Hour)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// fileSite is a manager serving one file certificate, dir/site.pem and
// dir/site.key, polled on a fake clock, and a client verifying it.
type fileSite struct {
	dir    string
	clk    *clock.Fake
	logs   *logBuffer
	get    getCertFunc
	client *tls.Config
}

func newFileSite(t *testing.T, first leaf, ca *testCA, start time.Time, interval time.Duration) *fileSite {
	t.Helper()
	dir := t.TempDir()
	writeKeyPair(t, dir, "site", first, ca)
	cfg := decodeConfig(t, dir, configYAML([]string{"site"}, `
  - name: site
    cert_file: site.pem
    key_file: site.key
`))
	clk := clock.NewFake(start)
	m, logs := newManager(t, certmgr.Options{Clock: clk, WatchInterval: interval})
	get := getCertificateFunc(t, commit(t, m, cfg), "site")
	client := &tls.Config{RootCAs: ca.pool, ServerName: first.cert.DNSNames[0]}
	return &fileSite{dir: dir, clk: clk, logs: logs, get: get, client: client}
}

// TestFileRewrittenInPlace rewrites the files themselves, as a deploy
// script might: the new certificate is served once both are rewritten.
func TestFileRewrittenInPlace(t *testing.T) {
	ca := newTestCA(t)
	v1 := ca.issue(t, time.Now().Add(90*24*time.Hour), false, "site.test")
	v2 := ca.issue(t, time.Now().Add(91*24*time.Hour), false, "site.test")
	s := newFileSite(t, v1, ca, time.Now(), time.Second)
	certFile, keyFile := filepath.Join(s.dir, "site.pem"), filepath.Join(s.dir, "site.key")
	before, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}

	writeFile(t, certFile, v2.fullchain(ca), 0o644)
	s.clk.Advance(time.Second)
	wantServed(t, s.get, s.client, v1.cert, "with the new certificate and the old key")
	writeFile(t, keyFile, v2.keyPEM, 0o600)
	s.clk.Advance(time.Second)
	wantServed(t, s.get, s.client, v2.cert, "after rewriting both files")

	after, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("the test replaced the file instead of rewriting it")
	}
	if got := s.logs.match(t, slog.LevelError, ""); len(got) != 0 {
		t.Errorf("logged errors %v", got)
	}
}

// TestFileDeletedKeepsCertificate pins that a deleted file leaves the
// certificate read before in service, and is reported once.
func TestFileDeletedKeepsCertificate(t *testing.T) {
	for _, file := range []string{"site.pem", "site.key"} {
		t.Run(file, func(t *testing.T) {
			ca := newTestCA(t)
			v1 := ca.issue(t, time.Now().Add(90*24*time.Hour), false, "site.test")
			s := newFileSite(t, v1, ca, time.Now(), time.Second)
			if err := os.Remove(filepath.Join(s.dir, file)); err != nil {
				t.Fatal(err)
			}
			s.clk.Advance(time.Second)
			wantServed(t, s.get, s.client, v1.cert, "right after the deletion")
			s.clk.Advance(certmgr.ReportAfter + time.Minute)
			wantServed(t, s.get, s.client, v1.cert, "long after the deletion")
			got := s.logs.match(t, slog.LevelError, "")
			if len(got) != 1 || got[0].msg() != filesCannotBeUsed || !strings.Contains(fmt.Sprint(got[0]["err"]), filepath.Join(s.dir, file)) {
				t.Errorf("logged errors %v, want one %q naming %s", got, filesCannotBeUsed, file)
			}
		})
	}
}

// TestFileExpiryWarnings walks a certificate from files towards its expiry
// on a fake clock: one warning on entering each band (30, 7, 1 days), one
// error once expired, and a fresh start for a renewed certificate.
func TestFileExpiryWarnings(t *testing.T) {
	start := time.Now().Truncate(time.Second)
	const day = 24 * time.Hour
	notAfter := start.Add(40 * day)
	ca := newTestCA(t)
	s := newFileSite(t, ca.issue(t, notAfter, false, "site.test"), ca, start, time.Hour)

	type line struct {
		level slog.Level
		msg   string
	}
	steps := []struct {
		left time.Duration // advance until this much is left
		want []line        // lines logged meanwhile
	}{
		{40 * day, nil},
		{30*day + time.Hour, nil},
		{30 * day, []line{{slog.LevelWarn, "certificate expires within 30 days"}}},
		{29 * day, nil},
		{7*day + time.Hour, nil},
		{6 * day, []line{{slog.LevelWarn, "certificate expires within 7 days"}}},
		{2 * day, nil},
		{day, []line{{slog.LevelWarn, "certificate expires within 1 day"}}}, // "1 days" today
		{time.Hour, nil},
		{0, []line{{slog.LevelError, "certificate has expired"}}},
		{-10 * day, nil},
	}
	// newLines returns the warnings and errors logged since its last call.
	seen := 0
	newLines := func() []logLine {
		t.Helper()
		var all []logLine
		for _, l := range s.logs.lines(t) {
			if l["level"] == slog.LevelWarn.String() || l["level"] == slog.LevelError.String() {
				all = append(all, l)
			}
		}
		out := all[seen:]
		seen = len(all)
		return out
	}
	for _, st := range steps {
		s.clk.Advance(notAfter.Add(-st.left).Sub(s.clk.Now()))
		got := newLines()
		if len(got) != len(st.want) {
			t.Fatalf("with %s left: logged %v, want %v", st.left, got, st.want)
		}
		for i, w := range st.want {
			if got[i]["level"] != w.level.String() || !strings.HasPrefix(got[i].msg(), w.msg) || got[i]["certificate"] != "site" {
				t.Errorf("with %s left: logged %v, want %s %q for site", st.left, got[i], w.level, w.msg)
			}
		}
	}
	if got := s.logs.match(t, slog.LevelWarn, ""); len(got) == 0 || got[0]["days_left"] != float64(30) {
		t.Errorf("warnings %v, want the first with days_left 30", got)
	}

	// A renewed certificate that itself has 20 days left is warned about
	// from the start.
	renewed := ca.issue(t, s.clk.Now().Add(20*day), false, "site.test")
	writeFile(t, filepath.Join(s.dir, "site.pem"), renewed.fullchain(ca), 0o644)
	writeFile(t, filepath.Join(s.dir, "site.key"), renewed.keyPEM, 0o600)
	s.clk.Advance(time.Hour)
	got := newLines()
	if len(got) != 1 || !strings.HasPrefix(got[0].msg(), "certificate expires within 30 days") {
		t.Fatalf("after renewal: logged %v, want one 30 days warning", got)
	}
	s.clk.Advance(5 * day)
	if got := newLines(); len(got) != 0 {
		t.Errorf("5 days after renewal: logged %v, want nothing", got)
	}
}

// TestPrepareFileErrors pins that a certificate file that cannot be used
// fails Prepare with an error pointing at the entry in the config file.
func TestPrepareFileErrors(t *testing.T) {
	ca := newTestCA(t)
	a := ca.issue(t, time.Now().Add(24*time.Hour), false, "a.test")
	b := ca.issue(t, time.Now().Add(24*time.Hour), false, "b.test")
	tests := []struct {
		name      string
		cert, key []byte // nil: the file does not exist
		field     string // "": the entry's field is not pinned
		culprit   string // the file the error must name
	}{
		{"missing certificate", nil, a.keyPEM, "cert_file", "bad.pem"},
		{"missing key", a.fullchain(ca), nil, "key_file", "bad.key"},
		{"key of another certificate", a.fullchain(ca), b.keyPEM, "key_file", "bad.key"},
		{"not PEM", []byte("hello\n"), a.keyPEM, "cert_file", "bad.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeKeyPair(t, dir, "good", a, ca)
			if tt.cert != nil {
				writeFile(t, filepath.Join(dir, "bad.pem"), tt.cert, 0o644)
			}
			if tt.key != nil {
				writeFile(t, filepath.Join(dir, "bad.key"), tt.key, 0o600)
			}
			yaml := configYAML([]string{"good", "bad"}, `
  - name: good
    cert_file: good.pem
    key_file: good.key
  - name: bad
    cert_file: bad.pem
    key_file: bad.key
`)
			cfg := decodeConfig(t, dir, yaml)
			m, _ := newManager(t, certmgr.Options{})
			set, err := m.Prepare(cfg)
			if err == nil {
				t.Fatal("Prepare succeeded")
			}
			if set != nil {
				t.Error("Prepare returned a set with its error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
			path := filepath.Join(dir, "sluice.yaml")
			if want := "certificates[1]." + tt.field; tt.field != "" && ce.Field != want || !strings.HasPrefix(ce.Field, want) {
				t.Errorf("field = %q, want %s", ce.Field, want)
			}
			value := map[string]string{"certificates[1].cert_file": "bad.pem", "certificates[1].key_file": "bad.key"}[ce.Field]
			line, col := position(t, yaml, ce.Field[len("certificates[1]."):]+": "+value)
			prefix := fmt.Sprintf("%s:%d:%d: %s: ", path, line, col, ce.Field)
			if ce.File != path || ce.Line != line || ce.Col != col || !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q, want it to start %q", err, prefix)
			}
			if culprit := filepath.Join(dir, tt.culprit); !strings.Contains(err.Error(), `certificate "bad"`) || !strings.Contains(err.Error(), culprit) {
				t.Errorf("error %q, want it to name certificate \"bad\" and %s", err, culprit)
			}
		})
	}
}

// position returns the 1-based line and column of the value of the
// "key: value" text in yaml.
func position(t *testing.T, yaml, keyValue string) (line, col int) {
	t.Helper()
	key, _, _ := strings.Cut(keyValue, ": ")
	for i, l := range strings.Split(yaml, "\n") {
		if j := strings.Index(l, keyValue); j >= 0 {
			return i + 1, j + len(key) + 3
		}
	}
	t.Fatalf("%q is not in the config", keyValue)
	return 0, 0
}
