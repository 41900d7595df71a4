package controlplane_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/controlplane"
)

func selfSigned(t *testing.T, name string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func importCert(name, cert, key string) func(*controlplane.State, *config.Config) error {
	return func(s *controlplane.State, _ *config.Config) error {
		s.Certificates[name] = &controlplane.CertDoc{Certificate: config.Certificate{Name: name}, CertificatePEM: cert, PrivateKeyPEM: key}
		return nil
	}
}

// importedFiles lists the files of the import dir with their modes.
func importedFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "imported"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Name()+" "+info.Mode().Perm().String())
	}
	return out
}

// TestImportedCertificateFiles checks the files imports are served from:
// private (0600) under the data dir, replaced on re-import and removed
// with the certificate.
func TestImportedCertificateFiles(t *testing.T) {
	p, _, dir := newPlane(t, memStore(t), "")
	c1, k1 := selfSigned(t, "app.test")
	c2, k2 := selfSigned(t, "app.test")
	ctx := context.Background()
	if _, err := p.Update(ctx, nil, importCert("site", c1, k1)); err != nil {
		t.Fatal(err)
	}
	first := importedFiles(t, dir)
	if len(first) != 2 {
		t.Fatalf("files after import: %v", first)
	}
	for _, f := range first {
		if !strings.HasPrefix(f, "site-") || !strings.HasSuffix(f, " -rw-------") {
			t.Errorf("import file %s: want site-*, mode 0600", f)
		}
	}
	cur, _ := p.Current()
	if c := cur.Certificates[0]; c.Source != config.SourceFile || !strings.HasPrefix(c.CertFile, filepath.Join(dir, "imported")) {
		t.Errorf("composed certificate: %+v", c)
	}

	if _, err := p.Update(ctx, nil, importCert("site", c2, k2)); err != nil {
		t.Fatal(err)
	}
	second := importedFiles(t, dir)
	if len(second) != 2 || slices.Equal(first, second) {
		t.Errorf("files after re-import: %v, were %v", second, first)
	}

	// A name that would leave the import dir is refused before any file
	// is written.
	if _, err := p.Update(ctx, nil, importCert("../evil", c1, k1)); err == nil {
		t.Error("a certificate name with a path was accepted")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "evil*")); len(m) != 0 {
		t.Errorf("files written outside the import dir: %v", m)
	}

	if _, err := p.Update(ctx, nil, func(s *controlplane.State, _ *config.Config) error {
		delete(s.Certificates, "site")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if left := importedFiles(t, dir); len(left) != 0 {
		t.Errorf("files left after delete: %v", left)
	}
}

// TestExport checks what an export says about file resources: relative
// paths become absolute, so the export may be saved anywhere.
func TestExport(t *testing.T) {
	c, k := selfSigned(t, "app.test")
	file := writeFile(t, `version: 1
target_groups:
  - name: app
    protocol: HTTP
    port: 80
certificates:
  - name: filecert
    cert_file: site.pem
    key_file: ./site.key
`)
	dir := filepath.Dir(file)
	if err := os.WriteFile(filepath.Join(dir, "site.pem"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.key"), []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	p, _, _ := newPlane(t, memStore(t), file)
	ctx := context.Background()
	if _, err := p.Update(ctx, nil, func(s *controlplane.State, _ *config.Config) error {
		s.Targets["app"] = []config.Target{{ID: "10.0.0.1"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Update(ctx, nil, importCert("site", c, k)); err != nil {
		t.Fatal(err)
	}
	// A load balancer without listeners, which a config file cannot hold.
	if _, err := p.Update(ctx, nil, func(s *controlplane.State, _ *config.Config) error {
		s.LoadBalancers["empty"] = &config.LoadBalancer{Name: "empty", IdleTimeout: config.Duration(time.Minute)}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, files, err := p.Export()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		"cert_file: " + filepath.Join(dir, "site.pem"),
		"key_file: " + filepath.Join(dir, "site.key"),
		"id: 10.0.0.1",
		"cert_file: certs/site.crt",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("export lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "empty") {
		t.Errorf("export holds the load balancer without listeners:\n%s", text)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if want := []string{"certs/site.crt", "certs/site.key"}; !slices.Equal(paths, want) {
		t.Errorf("export files %v, want %v", paths, want)
	}
	// The plane's own config is untouched by the export.
	cur, _ := p.Current()
	if cf := cur.Certificates[0].CertFile; cf != "site.pem" {
		t.Errorf("running config's cert_file became %q", cf)
	}
	// Saved elsewhere with its files, the export loads.
	dst := t.TempDir()
	for _, f := range files {
		full := filepath.Join(dst, f.Path)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(f.Content), os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dst, "sluice.yaml"), out, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(filepath.Join(dst, "sluice.yaml")); err != nil {
		t.Errorf("the saved export does not load: %v", err)
	}
}
