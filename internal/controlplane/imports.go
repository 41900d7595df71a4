package controlplane

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicelb/sluice/internal/config"
)

// importDir holds imported certificates as files the certificate manager
// serves like any certificate from files. The store is their source of
// truth; the files are rewritten from it as needed.
func importDir(dataDir string) string { return filepath.Join(dataDir, "imported") }

// materialize writes an imported certificate's PEM data to files named
// after their content, so that a re-import is a new file set the next
// Apply picks up at once, and returns the certificate, key and chain paths
// (the chain path is "" without a chain).
func materialize(dataDir string, d *CertDoc) ([3]string, error) {
	var out [3]string
	if dataDir == "" {
		return out, fmt.Errorf("certificate %q: importing needs a data dir", d.Name)
	}
	if filepath.Base(d.Name) != d.Name || strings.HasPrefix(d.Name, ".") {
		return out, fmt.Errorf("certificate %q: the name of an imported certificate names its files; it may not contain a path separator or start with '.'", d.Name)
	}
	dir := importDir(dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return out, err
	}
	sum := sha256.Sum256([]byte(d.CertificatePEM + d.PrivateKeyPEM + d.ChainPEM))
	base := filepath.Join(dir, d.Name+"-"+hex.EncodeToString(sum[:6]))
	parts := []struct {
		ext, data string
	}{{".crt", d.CertificatePEM}, {".key", d.PrivateKeyPEM}, {".chain.crt", d.ChainPEM}}
	for i, p := range parts {
		if p.data == "" {
			continue
		}
		path := base + p.ext
		if cur, err := os.ReadFile(path); err == nil && string(cur) == p.data {
			out[i] = path
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(p.data), 0o600); err != nil {
			return out, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return out, err
		}
		out[i] = path
	}
	return out, nil
}

// removeStaleImports deletes the imported certificate files cfg no longer
// uses.
func removeStaleImports(dataDir string, cfg *config.Config) {
	if dataDir == "" {
		return
	}
	dir := importDir(dataDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	used := map[string]bool{}
	for _, c := range cfg.Certificates {
		for _, f := range []string{c.CertFile, c.KeyFile, c.ChainFile} {
			if strings.HasPrefix(f, dir) {
				used[filepath.Base(f)] = true
			}
		}
	}
	for _, e := range entries {
		if !used[e.Name()] {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
