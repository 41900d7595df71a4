package api_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/config"
)

// TestExportRoundTrip exports file and API resources together, serves the
// export as a config file with an empty store, and exports again: the two
// exports say the same.
func TestExportRoundTrip(t *testing.T) {
	cfg, v := newFileEnvVars(t)
	e := newEnv(t, envOptions{config: cfg})
	b := newBackend(t, "b1")
	b2 := newBackend(t, "b2")
	port, tlsPort := freePort(t), freePort(t)
	e.webSetup(port, b)
	c, k, serial := selfSigned(t, "app.test")
	e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "site", "certificate": c, "private_key": k})
	e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "dev", "source": "internal", "domains": []string{"dev.test"}})
	cc, ck, chain := chained(t, "chain.test")
	e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "chained", "certificate": cc, "private_key": ck, "certificate_chain": chain})
	e.must(201, "POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTPS", "port": tlsPort,
		"address": "127.0.0.1", "certificates": []string{"site", "dev", "chained"}, "default_actions": forwardTo("app")})
	if n := chainLen(t, tlsPort, "chain.test"); n != 2 {
		t.Errorf("chained certificate served with %d certificates, want 2", n)
	}
	e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": fmt.Sprintf("web:%d", port), "priority": 10,
		"conditions": pathIs("/chat"), "actions": fixed("chat")})
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "spare", "protocol": "HTTP", "port": 80,
		"health_check": map[string]any{"enabled": false}, "attributes": map[string]any{"stickiness": map[string]any{"enabled": true}}})
	e.must(200, "PATCH", "/api/v1/load_balancers/web", map[string]any{"http2_enabled": false, "idle_timeout": "30s"})
	e.must(200, "POST", "/api/v1/target_groups/filetg/targets", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": b2.port}}})

	first := e.must(200, "GET", "/api/v1/export", nil)
	text1 := first.body["config"].(string)
	dir := t.TempDir()
	writeExport(t, dir, first)
	file := filepath.Join(dir, "sluice.yaml")
	if _, err := config.Load(file); err != nil {
		t.Fatalf("the export does not load:\n%v\n%s", err, text1)
	}
	e.stop()

	e2 := newEnv(t, envOptions{file: file})
	waitBody(t, lbURL(port, "/"), "b1")
	waitBody(t, lbURL(port, "/chat"), "chat")
	if got := leafSerial(t, tlsPort, "app.test"); got.Cmp(serial) != 0 {
		t.Errorf("TLS serial %x, want %x", got, serial)
	}
	if n := chainLen(t, tlsPort, "chain.test"); n != 2 {
		t.Errorf("after the round trip, the chained certificate is served with %d certificates, want 2", n)
	}
	seen := map[string]bool{}
	waitFor(t, 5*time.Second, "both targets of filetg", func() bool {
		if _, body, err := get(lbURL(v.Port, "/")); err == nil {
			seen[body] = true
		}
		return seen["file"] && seen["b2"]
	})
	for _, p := range []string{"/api/v1/load_balancers/web", "/api/v1/target_groups/app", "/api/v1/certificates/site"} {
		if m := e2.must(200, "GET", p, nil).body["managed_by"]; m != "file" {
			t.Errorf("%s: managed_by %v, want file", p, m)
		}
	}
	second := e2.must(200, "GET", "/api/v1/export", nil)
	text2 := second.body["config"].(string)
	// Imported certificates were exported as files beside the config; the
	// second export names those files by absolute path.
	text2 = strings.ReplaceAll(text2, dir+string(filepath.Separator), "")
	if text1 != text2 {
		t.Errorf("the exports differ:\n%s\nthen\n%s", text1, text2)
	}
	if files := second.list("files"); len(files) != 0 {
		t.Errorf("second export has files: %v", files)
	}
}

// writeExport writes an export answer to dir: the config as sluice.yaml
// and the files beside it.
func writeExport(t *testing.T, dir string, r resp) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "sluice.yaml"), []byte(r.body["config"].(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.list("files") {
		p := f["path"].(string)
		if !filepath.IsLocal(p) {
			t.Fatalf("export file path %q is not local to the export folder", p)
		}
		mode := fs.FileMode(f["mode"].(float64))
		if strings.HasSuffix(p, ".key") && mode != 0o600 {
			t.Errorf("%s: mode %o, want 0600", p, mode)
		}
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(f["content"].(string)), mode); err != nil {
			t.Fatal(err)
		}
	}
}
