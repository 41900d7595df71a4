package observe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelb/sluice/internal/config"
)

func logsConfig(t *testing.T, paths ...string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\nload_balancers:\n")
	for i, p := range paths {
		b.WriteString("  - name: lb" + string(rune('a'+i)) + "\n")
		if p != "" {
			b.WriteString("    access_logs: { path: " + p + " }\n")
		}
		b.WriteString("    listeners: [{ protocol: HTTP, port: " + string(rune('1'+i)) + "080, default_actions: [{ type: fixed-response, fixed_response: { status_code: \"200\" } }] }]\n")
	}
	cfg, err := config.Decode("", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSetLogs: writers are opened (folders created), shared between load
// balancers with the same settings, kept across changes and closed when
// no longer used; a failure changes nothing.
func TestSetLogs(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "new", "shared.log")
	o := New(nil, nil)
	defer o.Close()
	if err := o.SetLogs(logsConfig(t, shared, shared, "")); err != nil {
		t.Fatal(err)
	}
	logs := *o.logs.Load()
	if logs["lba"] == nil || logs["lba"] != logs["lbb"] || logs["lbc"] != nil || !o.Logging("lba") || o.Logging("lbc") {
		t.Fatalf("writers %v: want lba and lbb sharing one, none for lbc", logs)
	}
	if _, err := os.Stat(shared); err != nil {
		t.Fatalf("log file not created: %v", err)
	}
	first := logs["lba"]

	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	if err := o.SetLogs(logsConfig(t, shared, filepath.Join(blocker, "x.log"))); err == nil {
		t.Fatal("a log under a regular file was accepted")
	}
	if (*o.logs.Load())["lba"] != first || len(o.writers) != 1 {
		t.Fatalf("a refused change changed the writers: %v", o.writers)
	}

	if err := o.SetLogs(logsConfig(t, "", shared)); err != nil {
		t.Fatal(err)
	}
	if got := (*o.logs.Load())["lbb"]; got != first {
		t.Error("a writer whose settings did not change was replaced")
	}
	if err := o.SetLogs(logsConfig(t, "", "")); err != nil {
		t.Fatal(err)
	}
	if len(o.writers) != 0 || o.Logging("lbb") {
		t.Errorf("writers left after the logs were removed: %v", o.writers)
	}
}
