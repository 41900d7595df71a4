package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromiumPath finds Debian's headless Chromium. CI installs it (.ci/run);
// elsewhere the browser test is skipped when it is missing.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// TestDemoChatInBrowser runs the real binary's demo and opens its chat page
// in headless Chromium: the page is served over HTTPS and the chat's
// WebSocket goes through wss:// to a demo backend, whose welcome message
// must show up in the page.
func TestDemoChatInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	bin := sluiceBinary(t)
	dir := t.TempDir()
	httpPort, httpsPort := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	demo := exec.CommandContext(ctx, bin, "demo", "--data-dir", filepath.Join(dir, "data"),
		"--http-port", fmt.Sprint(httpPort), "--https-port", fmt.Sprint(httpsPort), "--admin-addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	demo.Stdout, demo.Stderr = &logs, &logs
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("demo output:\n%s", logs.String())
		}
	}()
	url := fmt.Sprintf("https://localhost:%d/chat", httpsPort)
	waitFor(t, 20*time.Second, "the demo to serve", func() bool {
		resp, err := client().Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	var dom bytes.Buffer
	var lastErr error
	// The WebSocket connects after the page loads; give the browser a few
	// tries of a few virtual seconds each.
	for try := 0; try < 3 && !strings.Contains(dom.String(), ": welcome ("); try++ {
		dom.Reset()
		bctx, bcancel := context.WithTimeout(ctx, 60*time.Second)
		cmd := exec.CommandContext(bctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
			"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(dir, fmt.Sprintf("chromium-%d", try)), "--ignore-certificate-errors",
			"--virtual-time-budget=5000", "--dump-dom", url)
		cmd.Stdout = &dom
		lastErr = cmd.Run()
		bcancel()
	}
	page := dom.String()
	if !strings.Contains(page, ": welcome (") || !strings.Contains(page, "connected to backend-") {
		t.Fatalf("the chat did not connect through wss:// (chromium: %v); page:\n%.2000s", lastErr, page)
	}
}
