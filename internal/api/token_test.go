package api_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelb/sluice/internal/api"
)

func TestToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := api.ReadToken(dir); err == nil || !strings.Contains(err.Error(), "no admin token") {
		t.Errorf("ReadToken before any: %v", err)
	}
	tok, created, err := api.LoadOrCreateToken(dir)
	if err != nil || !created || len(tok) < 40 {
		t.Fatalf("LoadOrCreateToken: %q, %v, %v", tok, created, err)
	}
	info, err := os.Stat(filepath.Join(dir, api.TokenFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, %v", info, err)
	}
	again, created, err := api.LoadOrCreateToken(dir)
	if err != nil || created || again != tok {
		t.Errorf("second LoadOrCreateToken: %q, %v, %v", again, created, err)
	}
	if got, err := api.ReadToken(dir); err != nil || got != tok {
		t.Errorf("ReadToken: %q, %v", got, err)
	}

	// Regression: an empty token file (a crash between creating and
	// writing it) made every request unauthorized without a word.
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, api.TokenFile), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, _, err := api.LoadOrCreateToken(empty); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty token file: %q, %v", tok, err)
	}
}
