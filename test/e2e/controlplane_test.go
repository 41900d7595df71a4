package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sluicelb/sluice/internal/api"
	"github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/server"
	"github.com/sluicelb/sluice/internal/store"
)

const testToken = "test-token"

// adminEnv is a sluice with its control plane and admin API, in process.
type adminEnv struct {
	t     *testing.T
	srv   *server.Server
	plane *controlplane.Plane
	api   *httptest.Server
	logs  *syncBuffer
}

// startAdmin serves the config file cfg ("" for none) with an in-memory
// store and the admin API.
func startAdmin(t *testing.T, cfg string) *adminEnv {
	t.Helper()
	dir := t.TempDir()
	e := &adminEnv{t: t, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(server.Options{DataDir: filepath.Join(dir, "data"), Logger: log, Engine: *engineFlag})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	file := ""
	if cfg != "" {
		file = filepath.Join(dir, "sluice.yaml")
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st := store.NewMemory()
	e.plane = controlplane.New(controlplane.Options{Store: st, Server: srv, DataDir: filepath.Join(dir, "data"), File: file, Logger: log})
	if err := e.plane.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.api = httptest.NewServer(api.New(api.Options{Plane: e.plane, Runtime: srv, Token: testToken, Logger: log}))
	t.Cleanup(func() {
		e.api.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		st.Close()
		if t.Failed() {
			t.Logf("sluice log:\n%s", e.logs.String())
		}
	})
	return e
}

// call sends an API request and decodes the JSON answer; it fails the test
// unless the status is want.
func (e *adminEnv) call(method, path string, body any, want int) map[string]any {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	out := map[string]any{}
	if len(raw) > 0 {
		json.Unmarshal(raw, &out)
	}
	return out
}

// echoBackend is a WebSocket echo server that also answers plain requests.
func echoBackend(t *testing.T, name string) *backend {
	return newBackend(t, name, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			io.WriteString(w, name)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if err := c.Write(context.Background(), typ, msg); err != nil {
				return
			}
		}
	})
}

// TestLiveChangesKeepConnections holds a WebSocket open and runs a load
// loop while 100 changes that do not concern them go through the admin API
// (rules added and removed, another group's targets and attributes, a
// second listener opened and closed): the WebSocket keeps echoing and no
// request fails.
func TestLiveChangesKeepConnections(t *testing.T) {
	t.Parallel()
	app := echoBackend(t, "app")
	spare := newBackend(t, "spare", nil)
	e := startAdmin(t, "")
	port, port2 := freePort(t), freePort(t)
	e.call("POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": app.port,
		"health_check": map[string]any{"path": "/health", "interval": "5s", "healthy_threshold": 2}}, 201)
	e.call("POST", "/api/v1/target_groups/app/targets", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1"}}}, 200)
	e.call("POST", "/api/v1/target_groups", map[string]any{"name": "other", "protocol": "HTTP", "port": spare.port}, 201)
	e.call("POST", "/api/v1/load_balancers", map[string]any{"name": "web"}, 201)
	e.call("POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": port, "address": "127.0.0.1",
		"default_actions": []any{map[string]any{"type": "forward", "target_group": "app"}}}, 201)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, 10*time.Second, "the listener forwarding", func() bool {
		resp, err := http.Get(base + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, fmt.Sprintf("ws://127.0.0.1:%d/ws", port), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	echo := func(i int) {
		t.Helper()
		msg := "change " + strconv.Itoa(i)
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("after change %d: websocket write: %v", i, err)
		}
		_, got, err := ws.Read(ctx)
		if err != nil || string(got) != msg {
			t.Fatalf("after change %d: websocket read %q, %v", i, got, err)
		}
	}

	// The load loop: keep-alive clients hammering the listener.
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(base + "/load")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprint(err, resp))
					continue
				}
				ok.Add(1)
			}
		}()
	}

	for i := range 100 {
		switch i % 5 {
		case 0:
			e.call("POST", "/api/v1/rules", map[string]any{"listener": fmt.Sprintf("web:%d", port), "name": fmt.Sprintf("r%d", i),
				"priority": i + 1, "conditions": []any{map[string]any{"field": "path-pattern", "values": []string{fmt.Sprintf("/chat-%d/*", i)}}},
				"actions": []any{map[string]any{"type": "fixed-response", "fixed_response": map[string]any{"status_code": "503"}}}}, 201)
		case 1:
			e.call("DELETE", fmt.Sprintf("/api/v1/rules/web:%d:r%d", port, i-1), nil, 204)
		case 2:
			e.call("POST", "/api/v1/target_groups/other/targets", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1"}}}, 200)
		case 3:
			e.call("PATCH", "/api/v1/target_groups/other/attributes", map[string]any{"deregistration_delay": i, "slow_start": 0}, 200)
			e.call("POST", "/api/v1/target_groups/other/targets/deregister", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1"}}}, 200)
		case 4:
			if i%10 == 4 {
				e.call("POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": port2, "address": "127.0.0.1",
					"default_actions": []any{map[string]any{"type": "forward", "target_group": "other"}}}, 201)
			} else {
				e.call("DELETE", fmt.Sprintf("/api/v1/listeners/web:%d", port2), nil, 204)
			}
		}
		echo(i)
	}
	close(stop)
	wg.Wait()
	if err := ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("closing the websocket: %v", err)
	}
	t.Logf("load loop: %d requests succeeded, %d failed", ok.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Errorf("%d requests failed during the changes; first: %v", failed.Load(), firstErr.Load())
	}
	if ok.Load() < 100 {
		t.Errorf("only %d requests went through: the load loop did not run", ok.Load())
	}
}

// TestDeregisterDrainsThroughAPI: a request in flight to a target
// deregistered through the API finishes, new requests go to the other
// target, describe-target-health shows the target draining, and it is gone
// once the delay ends.
func TestDeregisterDrainsThroughAPI(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var inflight atomic.Int32
	a := newBackend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			inflight.Add(1)
			<-release
		}
		io.WriteString(w, "a")
	})
	b := newBackend(t, "b", nil)
	e := startAdmin(t, "")
	port := freePort(t)
	e.call("POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": a.port,
		"health_check": map[string]any{"path": "/health", "interval": "5s", "healthy_threshold": 2},
		"attributes":   map[string]any{"deregistration_delay": "3s"}}, 201)
	e.call("POST", "/api/v1/target_groups/app/targets", map[string]any{"targets": []any{
		map[string]any{"id": "127.0.0.1", "port": a.port}, map[string]any{"id": "127.0.0.1", "port": b.port}}}, 200)
	e.call("POST", "/api/v1/load_balancers", map[string]any{"name": "web", "listeners": []any{map[string]any{
		"protocol": "HTTP", "port": port, "address": "127.0.0.1",
		"default_actions": []any{map[string]any{"type": "forward", "target_group": "app"}}}}}, 201)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c := client()
	waitFor(t, 10*time.Second, "a request served by a", func() bool {
		resp, err := c.Get(base + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.Header.Get("X-Backend") == "a"
	})

	slow := make(chan string, 1)
	go func() {
		for {
			resp, err := client().Get(base + "/slow")
			if err != nil {
				slow <- err.Error()
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Header.Get("X-Backend") == "a" {
				slow <- string(body)
				return
			}
		}
	}()
	waitFor(t, 10*time.Second, "a slow request in flight on a", func() bool { return inflight.Load() > 0 })
	e.call("POST", "/api/v1/target_groups/app/targets/deregister", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": a.port}}}, 200)

	health := e.call("GET", "/api/v1/target_groups/app/health", nil, 200)
	states := map[string]string{}
	for _, d := range health["target_health_descriptions"].([]any) {
		d := d.(map[string]any)
		tgt := d["target"].(map[string]any)
		th := d["target_health"].(map[string]any)
		states[fmt.Sprint(tgt["port"])] = th["state"].(string) + "/" + th["reason"].(string)
	}
	if got := states[strconv.Itoa(a.port)]; got != "draining/Target.DeregistrationInProgress" {
		t.Errorf("deregistered target shows %q, want draining/Target.DeregistrationInProgress (all: %v)", got, states)
	}
	for range 20 {
		resp, body := get(t, c, base+"/")
		if resp.StatusCode != 200 || body != "b" {
			t.Fatalf("a new request went to %q (status %d) while a drains", body, resp.StatusCode)
		}
	}
	close(release)
	if got := <-slow; got != "a" {
		t.Fatalf("the request in flight ended with %q, want a's answer", got)
	}
	waitFor(t, 10*time.Second, "the drained target gone from describe-target-health", func() bool {
		h := e.call("GET", "/api/v1/target_groups/app/health", nil, 200)
		return len(h["target_health_descriptions"].([]any)) == 1
	})
}
