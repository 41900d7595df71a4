package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/server"
	"github.com/sluicelb/sluice/internal/target"
)

// stickyCfg is one target group of three targets behind an HTTP listener
// (P1) and an HTTPS listener (P2). {{.Stickiness}} is the group's
// stickiness block.
const stickyCfg = `version: 1
load_balancers:
  - name: sticky
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: app }]
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }, { id: 127.0.0.1, port: {{.B2}} }, { id: 127.0.0.1, port: {{.B3}} }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2 }
    attributes:
      stickiness: {{.Stickiness}}
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`

// stickyEnv starts stickyCfg in front of three backends.
func stickyEnv(t *testing.T, stickiness string, ports [3]int) (*env, vars) {
	t.Helper()
	v := newVars(t, 2)
	v["B1"], v["B2"], v["B3"], v["Stickiness"] = ports[0], ports[1], ports[2], stickiness
	e := start(t, render(t, stickyCfg, v))
	e.waitHealthy("app", 3)
	return e, v
}

func stickyBackends(t *testing.T, h func(name string) http.HandlerFunc) ([3]*backend, [3]int) {
	var bs [3]*backend
	var ports [3]int
	for i, name := range []string{"b1", "b2", "b3"} {
		var hf http.HandlerFunc
		if h != nil {
			hf = h(name)
		}
		bs[i] = newBackend(t, name, hf)
		ports[i] = bs[i].port
	}
	return bs, ports
}

// respCookie returns the cookie name set by resp, or nil.
func respCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// rawSetCookie returns the Set-Cookie line for name.
func rawSetCookie(resp *http.Response, name string) string {
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, name+"=") {
			return sc
		}
	}
	return ""
}

func respCookieNames(resp *http.Response) []string {
	var out []string
	for _, c := range resp.Cookies() {
		out = append(out, c.Name)
	}
	return out
}

// stickyGet fetches url sending cookies and returns the response and body.
func stickyGet(t *testing.T, c *http.Client, url string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d %q", url, resp.StatusCode, b)
	}
	return resp, string(b)
}

// TestStickyLBCookie pins a client to a target with the AWSALB cookie.
func TestStickyLBCookie(t *testing.T) {
	t.Parallel()
	_, ports := stickyBackends(t, nil)
	_, v := stickyEnv(t, "{ enabled: true, type: lb_cookie, duration: 1h }", ports)
	c := client()
	httpURL := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	httpsURL := fmt.Sprintf("https://127.0.0.1:%d/", v["P2"])

	t.Run("round robin without cookie", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 3; i++ {
			resp, body := stickyGet(t, c, httpURL)
			seen[body] = true
			if respCookie(resp, "AWSALB") == nil {
				t.Errorf("response %d sets %v, want AWSALB", i, respCookieNames(resp))
			}
		}
		if len(seen) != 3 {
			t.Errorf("three requests without a cookie reached %v, want all three targets", seen)
		}
	})

	t.Run("HTTP sets AWSALB only", func(t *testing.T) {
		resp, _ := stickyGet(t, c, httpURL)
		if names := respCookieNames(resp); len(names) != 1 || names[0] != "AWSALB" {
			t.Fatalf("cookies %v, want [AWSALB]", names)
		}
		ck := respCookie(resp, "AWSALB")
		if ck.Path != "/" {
			t.Errorf("AWSALB Path %q, want /", ck.Path)
		}
		if d := time.Until(ck.Expires); d < 59*time.Minute || d > 61*time.Minute {
			t.Errorf("AWSALB expires in %v, want the 1h duration", d)
		}
	})

	t.Run("HTTPS adds AWSALBCORS", func(t *testing.T) {
		resp, _ := stickyGet(t, c, httpsURL)
		lb, cors := respCookie(resp, "AWSALB"), respCookie(resp, "AWSALBCORS")
		if lb == nil || cors == nil {
			t.Fatalf("cookies %v, want AWSALB and AWSALBCORS", respCookieNames(resp))
		}
		if lb.Value != cors.Value {
			t.Errorf("AWSALBCORS value differs from AWSALB")
		}
		if cors.SameSite != http.SameSiteNoneMode || !cors.Secure {
			t.Errorf("AWSALBCORS is %q, want SameSite=None; Secure", rawSetCookie(resp, "AWSALBCORS"))
		}
	})

	t.Run("cookie pins the target", func(t *testing.T) {
		for _, url := range []string{httpURL, httpsURL} {
			resp, first := stickyGet(t, c, url)
			lb := respCookie(resp, "AWSALB")
			for i := 0; i < 9; i++ {
				resp, body := stickyGet(t, c, url, lb)
				if body != first {
					t.Fatalf("%s request %d with the cookie went to %s, want %s", url, i, body, first)
				}
				if respCookie(resp, "AWSALB") == nil {
					t.Errorf("request %d: the cookie was not refreshed", i)
				}
			}
			// A cross-site request from a browser carries only the CORS
			// cookie.
			for i := 0; i < 3; i++ {
				if _, body := stickyGet(t, c, url, &http.Cookie{Name: "AWSALBCORS", Value: lb.Value}); body != first {
					t.Fatalf("%s request %d with AWSALBCORS went to %s, want %s", url, i, body, first)
				}
			}
		}
	})

	t.Run("tampered cookie ignored", func(t *testing.T) {
		resp, _ := stickyGet(t, c, httpURL)
		val := []byte(respCookie(resp, "AWSALB").Value)
		i := len(val) / 2
		if val[i] == 'A' {
			val[i] = 'B'
		} else {
			val[i] = 'A'
		}
		bad := &http.Cookie{Name: "AWSALB", Value: string(val)}
		seen := map[string]bool{}
		for i := 0; i < 6; i++ {
			resp, body := stickyGet(t, c, httpURL, bad)
			seen[body] = true
			if nc := respCookie(resp, "AWSALB"); nc == nil || nc.Value == bad.Value {
				t.Errorf("request %d: tampered cookie not replaced (%v)", i, respCookieNames(resp))
			}
		}
		if len(seen) != 3 {
			t.Errorf("requests with a tampered cookie reached %v, want round robin over all three", seen)
		}
	})
}

// healthCtl is a backend whose health check answer the test controls.
type healthCtl struct {
	name string
	port int
	sick atomic.Bool
}

func newHealthCtl(t *testing.T, name string) *healthCtl {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &healthCtl{name: name, port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if h.sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		w.Header().Set("X-Backend", name)
		io.WriteString(w, name)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h
}

// TestStickyUnhealthyTarget ignores and rewrites a cookie naming a target
// that failed its health checks.
func TestStickyUnhealthyTarget(t *testing.T) {
	t.Parallel()
	hs := map[string]*healthCtl{}
	var ports [3]int
	for i, name := range []string{"h1", "h2", "h3"} {
		hs[name] = newHealthCtl(t, name)
		ports[i] = hs[name].port
	}
	e, v := stickyEnv(t, "{ enabled: true, type: lb_cookie }", ports)
	c := client()
	url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	resp, pinned := stickyGet(t, c, url)
	old := respCookie(resp, "AWSALB")

	hs[pinned].sick.Store(true)
	// Two failed checks 5s apart.
	waitFor(t, 20*time.Second, "the pinned target to turn unhealthy", func() bool {
		return e.countState("app", target.StateUnhealthy) == 1
	})
	resp, other := stickyGet(t, c, url, old)
	if other == pinned {
		t.Fatalf("cookie for unhealthy %s still routed there", pinned)
	}
	fresh := respCookie(resp, "AWSALB")
	if fresh == nil || fresh.Value == old.Value {
		t.Fatalf("cookie not rewritten: %v", respCookieNames(resp))
	}
	for i := 0; i < 5; i++ {
		if _, body := stickyGet(t, c, url, fresh); body != other {
			t.Fatalf("request %d with the rewritten cookie went to %s, want %s", i, body, other)
		}
	}
	// Only the request whose cookie could not be honoured counts as
	// non-sticky (NonStickyRequestCount).
	scrapeHandler(t, e.srv.Metrics()).want(t, "sluice_non_sticky_requests_total",
		[]string{"load_balancer", "sticky", "listener", fmt.Sprintf("sticky:%d", v["P1"])}, 1)
}

// TestStickyRetriedTarget: when the target a cookie names refuses the
// connection, the request is retried elsewhere and the new cookie must name
// the target that answered.
func TestStickyRetriedTarget(t *testing.T) {
	t.Parallel()
	bs, ports := stickyBackends(t, nil)
	_, v := stickyEnv(t, "{ enabled: true, type: lb_cookie }", ports)
	c := client()
	url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	resp, pinned := stickyGet(t, c, url)
	ck := respCookie(resp, "AWSALB")
	for _, b := range bs {
		if b.name == pinned {
			b.srv.Close()
		}
	}
	resp, other := stickyGet(t, c, url, ck)
	if other == pinned {
		t.Fatalf("served by the closed backend %s", pinned)
	}
	fresh := respCookie(resp, "AWSALB")
	if fresh == nil {
		t.Fatalf("no cookie after the retry: %v", respCookieNames(resp))
	}
	for i := 0; i < 4; i++ {
		if _, body := stickyGet(t, c, url, fresh); body != other {
			t.Fatalf("request %d with the cookie issued by the retry went to %s, want %s", i, body, other)
		}
	}
}

// TestStickyAppCookie follows the application's SESSIONID cookie with
// AWSALBAPP-0.
func TestStickyAppCookie(t *testing.T) {
	t.Parallel()
	_, ports := stickyBackends(t, func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/login" {
				http.SetCookie(w, &http.Cookie{Name: "SESSIONID", Value: "abc-" + name})
			}
			io.WriteString(w, name)
		}
	})
	_, v := stickyEnv(t, "{ enabled: true, type: app_cookie, cookie_name: SESSIONID, duration: 1h }", ports)
	c := client()
	base := fmt.Sprintf("http://127.0.0.1:%d", v["P1"])

	t.Run("no application cookie, no stickiness", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 3; i++ {
			resp, body := stickyGet(t, c, base+"/")
			seen[body] = true
			if len(resp.Cookies()) != 0 {
				t.Errorf("cookies %v on a response without SESSIONID", respCookieNames(resp))
			}
		}
		if len(seen) != 3 {
			t.Errorf("reached %v, want round robin over all three", seen)
		}
	})
	t.Run("AWSALBAPP-0 pins", func(t *testing.T) {
		resp, pinned := stickyGet(t, c, base+"/login")
		app, sess := respCookie(resp, "AWSALBAPP-0"), respCookie(resp, "SESSIONID")
		if app == nil || sess == nil || sess.Value != "abc-"+pinned {
			t.Fatalf("cookies %v, want SESSIONID from %s and AWSALBAPP-0", respCookieNames(resp), pinned)
		}
		if respCookie(resp, "AWSALB") != nil {
			t.Errorf("app_cookie stickiness also set AWSALB")
		}
		for i := 0; i < 6; i++ {
			if _, body := stickyGet(t, c, base+"/", sess, app); body != pinned {
				t.Fatalf("request %d with AWSALBAPP-0 went to %s, want %s", i, body, pinned)
			}
		}
	})
}

// TestStickyTargetGroup pins a client to one group of a weighted forward
// with AWSALBTG.
func TestStickyTargetGroup(t *testing.T) {
	t.Parallel()
	blue, green := newBackend(t, "blue", nil), newBackend(t, "green", nil)
	v := newVars(t, 1)
	v["B1"], v["B2"] = blue.port, green.port
	e := start(t, render(t, `version: 1
load_balancers:
  - name: tgsticky
    listeners:
      - protocol: HTTPS
        port: {{.P1}}
        address: 127.0.0.1
        certificates: [site]
        default_actions:
          - type: forward
            forward:
              target_groups: [{ name: blue, weight: 50 }, { name: green, weight: 50 }]
              stickiness: { enabled: true, duration: 1h }
target_groups:
  - name: blue
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
  - name: green
    protocol: HTTP
    port: {{.B2}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`, v))
	e.waitHealthy("blue", 1)
	e.waitHealthy("green", 1)
	c := client()
	url := fmt.Sprintf("https://127.0.0.1:%d/", v["P1"])
	cookies := map[string]*http.Cookie{}
	for i := 0; i < 60 && len(cookies) < 2; i++ {
		resp, body := stickyGet(t, c, url)
		tg, cors := respCookie(resp, "AWSALBTG"), respCookie(resp, "AWSALBTGCORS")
		if tg == nil || cors == nil {
			t.Fatalf("cookies %v, want AWSALBTG and AWSALBTGCORS", respCookieNames(resp))
		}
		if cors.SameSite != http.SameSiteNoneMode || !cors.Secure {
			t.Errorf("AWSALBTGCORS is %q, want SameSite=None; Secure", rawSetCookie(resp, "AWSALBTGCORS"))
		}
		cookies[body] = tg
	}
	if len(cookies) != 2 {
		t.Fatalf("60 requests without a cookie reached only %v", cookies)
	}
	for group, ck := range cookies {
		for i := 0; i < 20; i++ {
			if _, body := stickyGet(t, c, url, ck); body != group {
				t.Fatalf("request %d with %s's AWSALBTG went to %s", i, group, body)
			}
		}
	}
}

// TestStickySurvivesRestart: the stickiness key lives in the data dir, so
// a cookie issued before a restart still pins after it.
func TestStickySurvivesRestart(t *testing.T) {
	t.Parallel()
	_, ports := stickyBackends(t, nil)
	e, v := stickyEnv(t, "{ enabled: true, type: lb_cookie }", ports)
	url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	resp, pinned := stickyGet(t, client(), url)
	ck := respCookie(resp, "AWSALB")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	srv, err := server.New(server.Options{DataDir: filepath.Join(e.dir, "data"), Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Engine: *engineFlag})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	if err := srv.ApplyFile(e.file); err != nil {
		t.Fatalf("applying config after restart: %v", err)
	}
	e.srv = srv
	e.waitHealthy("app", 3)
	c := client()
	for i := 0; i < 6; i++ {
		if _, body := stickyGet(t, c, url, ck); body != pinned {
			t.Fatalf("request %d after restart went to %s, want %s", i, body, pinned)
		}
	}
}
