package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// sluiceBinary builds cmd/sluice once per test run.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "sluice")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/sluicelb/sluice/cmd/sluice").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestValidateCommand(t *testing.T) {
	bin := sluiceBinary(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	writeFile(t, good, "version: 1\nload_balancers:\n  - name: web\n    listeners:\n      - protocol: HTTP\n        port: 8080\n        default_actions:\n          - type: fixed-response\n            fixed_response: { status_code: \"200\" }\n")
	out, err := exec.Command(bin, "validate", "-c", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("validate good: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "version: 1\nload_balancers:\n  - name: web\n    idle_timeout: 9000s\n    listeners:\n      - protocol: HTTP\n        port: 8080\n        default_actions:\n          - type: fixed-response\n            fixed_response: { status_code: \"200\" }\n")
	cmd := exec.Command(bin, "validate", "-c", bad)
	out, err = cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("validate accepted a bad file:\n%s", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(string(out), "bad.yaml:4:19") || !strings.Contains(string(out), "9000s") {
		t.Fatalf("error does not name file:line:col and the value:\n%s", out)
	}
}

// TestServeSignals runs the real binary: SIGHUP reloads an edited config,
// SIGTERM lets the request in flight finish and exits 0.
func TestServeSignals(t *testing.T) {
	bin := sluiceBinary(t)
	release := make(chan struct{})
	b1 := newBackend(t, "b1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "b1")
	})
	v := newVars(t, 1)
	v["B1"], v["HealthPath"], v["MinCount"] = b1.port, "/health", 0
	v["Targets"] = []int{b1.port}
	dir := t.TempDir()
	file := filepath.Join(dir, "sluice.yaml")
	writeFile(t, file, render(t, oneGroupCfg, v))
	var logs syncBuffer
	cmd := exec.Command(bin, "serve", "-c", file, "--data-dir", filepath.Join(dir, "data"), "--watch-interval", "1h", "--admin-addr", "off")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("sluice output:\n%s", logs.String())
		}
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", v["P1"])
	waitFor(t, 10*time.Second, "sluice answering", func() bool {
		resp, err := http.Get(url + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	// SIGHUP: the edited file (a fixed response) takes over.
	edited := strings.Replace(render(t, oneGroupCfg, v), "default_actions: [{ type: forward, target_group: app }]",
		`rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/fixed"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "418", message_body: "teapot" } }]
        default_actions: [{ type: forward, target_group: app }]`, 1)
	writeFile(t, file, edited)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 10*time.Second, "the reloaded rule", func() bool {
		resp, err := http.Get(url + "/fixed")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 418
	})

	// SIGTERM with a request in flight.
	before := b1.count()
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	waitFor(t, 5*time.Second, "slow request at the backend", func() bool { return b1.count() > before })
	cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, 5*time.Second, "listener closed", func() bool {
		_, err := http.Get(url + "/")
		return err != nil
	})
	close(release)
	if got := <-slow; got != "200 b1" {
		t.Fatalf("request in flight at SIGTERM: %s", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sluice exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sluice did not exit after SIGTERM")
	}
	if !bytes.Contains([]byte(logs.String()), []byte("stopped")) {
		t.Fatalf("no clean stop in the log")
	}
}
