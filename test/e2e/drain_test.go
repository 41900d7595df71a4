package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sluicelb/sluice/internal/target"
)

// TestDeregistrationDrains removes a target that has a request in flight
// and an open WebSocket: new requests go elsewhere at once, the request in
// flight completes, the WebSocket keeps working until the deregistration
// delay ends and is closed then.
func TestDeregistrationDrains(t *testing.T) {
	release := make(chan struct{})
	b1 := newBackend(t, "b1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "b1")
	})
	b2 := newBackend(t, "b2", nil)
	ws1, ws2 := echoWS(t), echoWS(t)
	v := newVars(t, 1)
	v["B1"], v["WS"], v["Delay"] = b1.port, ws1.port, "2s"
	v["Targets"] = []int{b1.port}
	e := start(t, render(t, twoGroupCfg, v))
	e.waitHealthy("app", 1)
	e.waitHealthy("chat", 1)
	base := fmt.Sprintf("http://127.0.0.1:%d", v["P1"])

	wc, _, err := websocket.Dial(context.Background(), "ws"+base[4:]+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.CloseNow()
	if err := wsEcho(t, wc, "hello"); err != nil {
		t.Fatal(err)
	}
	slow := make(chan string, 1)
	go func() {
		resp, err := client().Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	waitFor(t, 5*time.Second, "slow request at b1", func() bool { return b1.count() == 1 })

	// Replace b1 by b2 and the chat target by another one.
	v["Targets"], v["WS"] = []int{b2.port}, ws2.port
	removed := time.Now()
	if err := e.reload(render(t, twoGroupCfg, v)); err != nil {
		t.Fatal(err)
	}
	drained := e.srv.Registry().Draining()
	if len(drained) != 2 {
		t.Fatalf("draining %d targets, want 2 (b1 and the chat target)", len(drained))
	}
	for _, d := range drained {
		if h := d.Target.Health(); h.State != target.StateDraining || h.Reason != target.ReasonDeregistrationInProgress {
			t.Errorf("%s: %s/%s, want draining/Target.DeregistrationInProgress", d.Target.Key, h.State, h.Reason)
		}
	}
	e.waitHealthy("app", 1)
	for i := 0; i < 5; i++ {
		if resp, body := get(t, client(), base+"/"); body != "b2" {
			t.Fatalf("new request went to %q (status %d), want b2", body, resp.StatusCode)
		}
	}
	if err := wsEcho(t, wc, "while draining"); err != nil {
		t.Fatalf("WebSocket to a draining target broke before the delay: %v", err)
	}
	close(release)
	if got := <-slow; got != "200 b1" {
		t.Fatalf("request in flight during the drain: %s", got)
	}
	// After the delay the WebSocket is closed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = wc.Read(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("WebSocket not closed by the end of the drain: %v", err)
	}
	if el := time.Since(removed); el < 1500*time.Millisecond {
		t.Fatalf("WebSocket closed after %v, before the 2s deregistration delay", el)
	}
	waitFor(t, 5*time.Second, "drained targets to be unused", func() bool { return len(e.srv.Registry().Draining()) == 0 })
	for _, d := range drained {
		if h := d.Target.Health(); h.State != target.StateUnused {
			t.Errorf("%s after drain: %s, want unused", d.Target.Key, h.State)
		}
	}
}

const oneGroupCfg = `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    targets:
{{- range .Targets}}
      - { id: 127.0.0.1, port: {{.}} }
{{- end}}
    health_check: { path: {{.HealthPath}}, interval: 300s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2 }
    attributes:
      deregistration_delay: 0s
{{- if .MinCount}}
      target_group_health: { unhealthy_state_routing: { minimum_healthy_targets_count: {{.MinCount}} } }
{{- end}}
`

// TestPassiveEjectionAndRetry stops a healthy target: the next request to it
// fails to connect, is retried on the other target (the client sees 200),
// and the dead target is taken out at once, long before the next probe.
func TestPassiveEjectionAndRetry(t *testing.T) {
	b1, b2 := newBackend(t, "b1", nil), newBackend(t, "b2", nil)
	v := newVars(t, 1)
	v["B1"], v["HealthPath"], v["MinCount"] = b1.port, "/health", 0
	v["Targets"] = []int{b1.port, b2.port}
	e := start(t, render(t, oneGroupCfg, v))
	e.waitHealthy("app", 2)
	b2.srv.Close()
	url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	for i := 0; i < 10; i++ {
		if resp, body := get(t, client(), url); resp.StatusCode != 200 || body != "b1" {
			t.Fatalf("request %d: %d %q, want 200 from b1", i, resp.StatusCode, body)
		}
	}
	var dead *target.Target
	for _, tt := range e.srv.Snapshot().TargetGroups["app"].Group.Targets {
		if tt.Key.Port == b2.port {
			dead = tt
		}
	}
	if h := dead.Health(); h.State != target.StateUnhealthy || h.Reason != target.ReasonFailedHealthChecks {
		t.Fatalf("dead target is %s/%s, want unhealthy/Target.FailedHealthChecks", h.State, h.Reason)
	}
	// A POST is not retried: with b2 ejected it goes to b1, so this checks
	// nothing breaks for bodies either.
	resp, err := client().Post(url, "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST after ejection: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestFailOpen routes to every target when too few are healthy.
func TestFailOpen(t *testing.T) {
	sick := func(name string) *backend {
		return newBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hc" {
				w.WriteHeader(500)
				return
			}
			io.WriteString(w, name)
		})
	}
	t.Run("no target healthy", func(t *testing.T) {
		b1, b2 := sick("b1"), sick("b2")
		v := newVars(t, 1)
		v["B1"], v["HealthPath"], v["MinCount"] = b1.port, "/hc", 0
		v["Targets"] = []int{b1.port, b2.port}
		e := start(t, render(t, oneGroupCfg, v))
		url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
		seen := map[string]int{}
		for i := 0; i < 20; i++ {
			resp, body := get(t, client(), url)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d while failing open", resp.StatusCode)
			}
			seen[body]++
		}
		if seen["b1"] == 0 || seen["b2"] == 0 {
			t.Fatalf("fail-open did not use every target: %v", seen)
		}
		if n := e.countState("app", target.StateHealthy); n != 0 {
			t.Fatalf("%d healthy targets, want 0", n)
		}
	})
	t.Run("below minimum healthy count", func(t *testing.T) {
		good := newBackend(t, "good", nil)
		bad := sick("bad")
		v := newVars(t, 1)
		v["B1"], v["HealthPath"] = good.port, "/hc"
		v["Targets"] = []int{good.port, bad.port}
		for _, tc := range []struct {
			min     int
			wantBad bool
		}{{1, false}, {2, true}} {
			v["MinCount"] = tc.min
			e := start(t, render(t, oneGroupCfg, v))
			e.waitHealthy("app", 1)
			url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
			badHits := 0
			for i := 0; i < 20; i++ {
				if _, body := get(t, client(), url); body == "bad" {
					badHits++
				}
			}
			if (badHits > 0) != tc.wantBad {
				t.Fatalf("minimum_healthy_targets_count %d: %d requests reached the unhealthy target", tc.min, badHits)
			}
			v["P1"] = freePort(t)
		}
	})
}
