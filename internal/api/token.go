package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the admin token's file name inside the data dir.
const TokenFile = "admin.token"

// ReadToken returns the admin token stored in dataDir.
func ReadToken(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, TokenFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no admin token in %s yet: it is created when sluice serve first starts with this --data-dir", dataDir)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// LoadOrCreateToken returns the admin token stored in dataDir, creating it
// (32 random bytes, file mode 0600) when there is none; created says so.
func LoadOrCreateToken(dataDir string) (token string, created bool, err error) {
	switch t, err := ReadToken(dataDir); {
	case err == nil && t != "":
		return t, false, nil
	case err == nil:
		// Left so by a crash between creating and writing it; an empty
		// token would lock everyone out without saying why.
		return "", false, fmt.Errorf("the admin token file %s is empty; delete it and start sluice again to create a new token", filepath.Join(dataDir, TokenFile))
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, err
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, err
	}
	path := filepath.Join(dataDir, TokenFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first; use that one.
		t, err := ReadToken(dataDir)
		if err == nil && t == "" {
			err = fmt.Errorf("the admin token file %s is empty; delete it and start sluice again to create a new token", path)
		}
		return t, false, err
	}
	if err != nil {
		return "", false, err
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return "", false, err
	}
	return token, true, f.Close()
}
