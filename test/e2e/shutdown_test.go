package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownWaitsForRetiredEngines: a reload that changes the idle
// timeout replaces the listener's engine; a request still in flight on the
// old engine must hold Shutdown until it finishes. Regression: only the
// current engine was waited for.
func TestShutdownWaitsForRetiredEngines(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "b")
	})
	v := newVars(t, 1)
	v["B"], v["Idle"] = b.port, "60s"
	cfg := `version: 1
load_balancers:
  - name: web
    idle_timeout: {{.Idle}}
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: b }]
target_groups:
  - { name: b, protocol: HTTP, port: {{.B}}, targets: [{ id: 127.0.0.1 }], health_check: { enabled: false } }
`
	e := start(t, render(t, cfg, v))
	slow := make(chan string, 1)
	go func() {
		resp, err := client().Get(fmt.Sprintf("http://127.0.0.1:%d/slow", v["P1"]))
		if err != nil {
			slow <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	waitFor(t, 5*time.Second, "the slow request at the target", func() bool { return b.count() == 1 })
	v["Idle"] = "30s"
	if err := e.reload(render(t, cfg, v)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- e.srv.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a request was in flight on the replaced engine", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if got := <-slow; !strings.HasPrefix(got, "200") {
		t.Fatalf("request in flight: %s", got)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the request finished")
	}
}
