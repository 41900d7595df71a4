package e2e

import (
	"log/slog"

	"context"
	"fmt"
	"github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/store"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const twoGroupCfg = `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 10
            conditions: [{ field: path-pattern, values: ["/ws"] }]
            actions: [{ type: forward, target_group: chat }]
        default_actions:
          - type: forward
            target_group: app
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    targets:
{{- range .Targets}}
      - { id: 127.0.0.1, port: {{.}} }
{{- end}}
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
    attributes: { deregistration_delay: {{.Delay}} }
  - name: chat
    protocol: HTTP
    port: {{.WS}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
    attributes: { deregistration_delay: {{.Delay}} }
`

// echoWS is a WebSocket echo backend.
func echoWS(t *testing.T) *backend {
	return newBackend(t, "ws", func(w http.ResponseWriter, r *http.Request) {
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

// load sends requests on n goroutines until stop is closed and counts
// failures (transport errors or non-200 answers).
type load struct {
	ok, failed atomic.Int64
	firstErr   atomic.Value
	wg         sync.WaitGroup
	stop       chan struct{}
}

func startLoad(t *testing.T, url string, n int) *load {
	l := &load{stop: make(chan struct{})}
	c := client()
	for i := 0; i < n; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := c.Get(url)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
	return l
}

func (l *load) finish() {
	close(l.stop)
	l.wg.Wait()
}

func (l *load) assertClean(t *testing.T) {
	t.Helper()
	if n := l.failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed; first: %v", n, n+l.ok.Load(), l.firstErr.Load())
	}
	if l.ok.Load() < 50 {
		t.Fatalf("only %d requests went through", l.ok.Load())
	}
}

func wsEcho(t *testing.T, c *websocket.Conn, msg string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		return err
	}
	_, got, err := c.Read(ctx)
	if err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}

// TestReloadUnderLoad edits the config repeatedly (adding and removing a
// target, adding rules) while clients send requests and a WebSocket stays
// open: no request may fail and the WebSocket must keep echoing.
func TestReloadUnderLoad(t *testing.T) {
	b1, b2 := newBackend(t, "b1", nil), newBackend(t, "b2", nil)
	ws := echoWS(t)
	v := newVars(t, 1)
	v["B1"], v["WS"], v["Delay"] = b1.port, ws.port, "2s"
	v["Targets"] = []int{b1.port}
	e := start(t, render(t, twoGroupCfg, v))
	e.waitHealthy("app", 1)
	e.waitHealthy("chat", 1)

	wc, _, err := websocket.Dial(context.Background(), fmt.Sprintf("ws://127.0.0.1:%d/ws", v["P1"]), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.CloseNow()
	if err := wsEcho(t, wc, "before"); err != nil {
		t.Fatal(err)
	}

	l := startLoad(t, fmt.Sprintf("http://127.0.0.1:%d/", v["P1"]), 8)
	for i := 0; i < 20; i++ {
		if i%2 == 0 {
			v["Targets"] = []int{b1.port, b2.port}
		} else {
			v["Targets"] = []int{b1.port}
		}
		cfg := render(t, twoGroupCfg, v)
		// An unrelated rule that changes every time.
		cfg = strings.Replace(cfg, "        default_actions:", fmt.Sprintf(`          - priority: %d
            conditions: [{ field: path-pattern, values: ["/r%d"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "r" } }]
        default_actions:`, 100+i, i), 1)
		if err := e.reload(cfg); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if err := wsEcho(t, wc, fmt.Sprintf("during %d", i)); err != nil {
			t.Fatalf("WebSocket after reload %d: %v", i, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	l.finish()
	l.assertClean(t)
	if err := wsEcho(t, wc, "after"); err != nil {
		t.Fatal(err)
	}
	if b2.count() == 0 {
		t.Error("b2 never received traffic although it was registered half the time")
	}
}

// TestBadConfigKeepsServing refuses a broken config with a positioned error
// and keeps the previous one serving.
func TestBadConfigKeepsServing(t *testing.T) {
	b1 := newBackend(t, "b1", nil)
	ws := echoWS(t)
	v := newVars(t, 1)
	v["B1"], v["WS"], v["Delay"] = b1.port, ws.port, "1s"
	v["Targets"] = []int{b1.port}
	good := render(t, twoGroupCfg, v)
	e := start(t, good)
	e.waitHealthy("app", 1)
	url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	bad := []struct{ name, cfg, want string }{
		{"unknown key", strings.Replace(good, "    listeners:", "    listners:", 1), "sluice.yaml:"},
		{"bad port", strings.Replace(good, fmt.Sprintf("port: %d", v["P1"]), "port: 70000", 1), "70000"},
		{"missing target group", strings.Replace(good, "target_group: app", "target_group: nope", 1), "nope"},
		{"not yaml", "version: 1\nload_balancers: [", "sluice.yaml:"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := e.reload(tc.cfg)
			if err == nil {
				t.Fatal("bad config accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			resp, body := get(t, client(), url)
			if resp.StatusCode != 200 || body != "b1" {
				t.Fatalf("old config stopped serving: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestWatchReloadsFile checks that an edited file is picked up without
// SIGHUP and that a broken edit is logged and ignored.
func TestWatchReloadsFile(t *testing.T) {
	b1, b2 := newBackend(t, "b1", nil), newBackend(t, "b2", nil)
	ws := echoWS(t)
	v := newVars(t, 1)
	v["B1"], v["WS"], v["Delay"] = b1.port, ws.port, "0s"
	v["Targets"] = []int{b1.port}
	e := start(t, render(t, twoGroupCfg, v))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The control plane owns the file from here, as in sluice serve.
	st := store.NewMemory()
	defer st.Close()
	plane := controlplane.New(controlplane.Options{Store: st, Server: e.srv, DataDir: t.TempDir(), File: e.file,
		Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err := plane.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go plane.Watch(ctx, 20*time.Millisecond, nil)
	e.waitHealthy("app", 1)

	writeFile(t, e.file, "version: 1\nload_balancers: [")
	waitFor(t, 5*time.Second, "refused reload in the log", func() bool {
		return strings.Contains(e.logs.String(), "config reload refused")
	})
	v["Targets"] = []int{b2.port}
	writeFile(t, e.file, render(t, twoGroupCfg, v))
	waitFor(t, 10*time.Second, "b2 serving after the file changed", func() bool {
		resp, err := client().Get(fmt.Sprintf("http://127.0.0.1:%d/", v["P1"]))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.Header.Get("X-Backend") == "b2"
	})
}
