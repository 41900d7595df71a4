package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestActionsForward forwards every request to the one target group of the
// default action.
func TestActionsForward(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "one", nil)
	v := newVars(t, 1)
	v["B1"] = b.port
	e := start(t, render(t, `version: 1
load_balancers:
  - name: fwd
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
`, v))
	e.waitHealthy("app", 1)
	c := client()
	for _, path := range []string{"/", "/a/b?x=1", "/deep/er/path"} {
		resp, body := get(t, c, fmt.Sprintf("http://127.0.0.1:%d%s", v["P1"], path))
		if resp.StatusCode != 200 || body != "one" || resp.Header.Get("X-Backend") != "one" {
			t.Fatalf("GET %s: %d %q (X-Backend %q), want 200 from one", path, resp.StatusCode, body, resp.Header.Get("X-Backend"))
		}
	}
	if n := b.count(); n != 3 {
		t.Fatalf("backend saw %d requests, want 3", n)
	}
}

// TestActionsWeightedForward spreads requests 90/10 over two groups and
// never sends any to a group of weight 0.
func TestActionsWeightedForward(t *testing.T) {
	t.Parallel()
	heavy, light, zero := newBackend(t, "heavy", nil), newBackend(t, "light", nil), newBackend(t, "zero", nil)
	v := newVars(t, 1)
	v["B1"], v["B2"], v["B3"] = heavy.port, light.port, zero.port
	e := start(t, render(t, `version: 1
load_balancers:
  - name: weighted
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions:
          - type: forward
            forward:
              target_groups:
                - { name: heavy, weight: 90 }
                - { name: light, weight: 10 }
                - { name: zero, weight: 0 }
target_groups:
  - name: heavy
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
  - name: light
    protocol: HTTP
    port: {{.B2}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
  - name: zero
    protocol: HTTP
    port: {{.B3}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
`, v))
	for _, g := range []string{"heavy", "light", "zero"} {
		e.waitHealthy(g, 1)
	}
	const n = 400
	seen := map[string]int{}
	c := client()
	url := fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])
	for i := 0; i < n; i++ {
		resp, body := get(t, c, url)
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		seen[body]++
	}
	// Binomial(400, 0.9): mean 360, standard deviation 6; ±30 is 5σ.
	if h := seen["heavy"]; h < 330 || h > 390 {
		t.Errorf("heavy got %d of %d, want 360±30 (%v)", h, n, seen)
	}
	if seen["heavy"]+seen["light"] != n {
		t.Errorf("requests went elsewhere: %v", seen)
	}
	if seen["zero"] != 0 || zero.count() != 0 {
		t.Errorf("weight-0 group got %d requests", zero.count())
	}
}

// TestActionsRedirect checks the Location every redirect template builds.
func TestActionsRedirect(t *testing.T) {
	t.Parallel()
	v := newVars(t, 2)
	start(t, render(t, `version: 1
load_balancers:
  - name: redir
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/found/*"] }]
            actions:
              - type: redirect
                redirect: { protocol: HTTPS, status_code: HTTP_302 }
          - priority: 2
            conditions: [{ field: path-pattern, values: ["/tmpl/*"] }]
            actions:
              - type: redirect
                redirect:
                  host: "www.#{host}"
                  path: "/new/#{path}"
                  query: "from=#{query}&proto=#{protocol}&port=#{port}"
                  status_code: HTTP_301
          - priority: 3
            conditions: [{ field: path-pattern, values: ["/tls/*"] }]
            actions:
              - type: redirect
                redirect: { protocol: HTTPS, port: "443", status_code: HTTP_301 }
          - priority: 4
            conditions: [{ field: path-pattern, values: ["/plain/*"] }]
            actions:
              - type: redirect
                redirect: { port: "80", path: "/moved/#{path}", status_code: HTTP_301 }
          - priority: 5
            conditions: [{ field: path-pattern, values: ["/noquery/*"] }]
            actions:
              - type: redirect
                redirect: { host: "#{host}.example", query: "", status_code: HTTP_302 }
          - priority: 6
            conditions: [{ field: path-pattern, values: ["/hostpath/*"] }]
            actions:
              - type: redirect
                redirect: { host: other.test, path: "/#{host}/#{port}/#{path}", status_code: HTTP_301 }
        default_actions:
          - type: redirect
            redirect: { protocol: HTTPS, port: "{{.P2}}", status_code: HTTP_301 }
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        default_actions:
          - type: fixed-response
            fixed_response: { status_code: "200", message_body: "secure" }
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`, v))
	p1, p2 := v["P1"], v["P2"]
	cases := []struct {
		name, host, path string
		status           int
		location         string
	}{
		{"http to https", fmt.Sprint("localhost:", p1), "/a/b?x=1", 301, fmt.Sprintf("https://localhost:%d/a/b?x=1", p2)},
		{"302 keeps port", fmt.Sprint("localhost:", p1), "/found/x?y=2", 302, fmt.Sprintf("https://localhost:%d/found/x?y=2", p1)},
		{"templates", fmt.Sprint("localhost:", p1), "/tmpl/a/b?k=v", 301,
			fmt.Sprintf("http://www.localhost:%d/new/tmpl/a/b?from=k=v&proto=HTTP&port=%d", p1, p1)},
		{"host without port", "localhost", "/tmpl/z", 301,
			fmt.Sprintf("http://www.localhost:%d/new/tmpl/z?from=&proto=HTTP&port=%d", p1, p1)},
		{"https 443 omitted", fmt.Sprint("localhost:", p1), "/tls/x?q=1", 301, "https://localhost/tls/x?q=1"},
		{"http 80 omitted", fmt.Sprint("localhost:", p1), "/plain/x", 301, "http://localhost/moved/plain/x"},
		{"empty query dropped", fmt.Sprint("localhost:", p1), "/noquery/x?drop=me", 302,
			fmt.Sprintf("http://localhost.example:%d/noquery/x", p1)},
		{"host and port in path", fmt.Sprint("Example.COM:", p1), "/hostpath/p", 301,
			fmt.Sprintf("http://other.test:%d/Example.COM/%d/hostpath/p", p1, p1)},
	}
	c := client()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := get(t, c, fmt.Sprintf("http://127.0.0.1:%d%s", p1, tc.path), "Host", tc.host)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
		})
	}
}

// TestActionsFixedResponse answers with the configured status, content type
// and body.
func TestActionsFixedResponse(t *testing.T) {
	t.Parallel()
	v := newVars(t, 1)
	start(t, render(t, `version: 1
load_balancers:
  - name: fixed
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/json"] }]
            actions:
              - type: fixed-response
                fixed_response: { status_code: "200", content_type: application/json, message_body: '{"ok":true}' }
          - priority: 2
            conditions: [{ field: path-pattern, values: ["/html"] }]
            actions:
              - type: fixed-response
                fixed_response: { status_code: "404", content_type: text/html, message_body: "<h1>gone</h1>" }
          - priority: 3
            conditions: [{ field: path-pattern, values: ["/empty"] }]
            actions:
              - type: fixed-response
                fixed_response: { status_code: "204" }
        default_actions:
          - type: fixed-response
            fixed_response: { status_code: "503", message_body: "maintenance" }
`, v))
	cases := []struct {
		path, ctype, body string
		status            int
	}{
		{"/json", "application/json", `{"ok":true}`, 200},
		{"/html", "text/html", "<h1>gone</h1>", 404},
		{"/empty", "text/plain", "", 204},
		{"/anything", "text/plain", "maintenance", 503},
	}
	c := client()
	for _, tc := range cases {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			resp, body := get(t, c, fmt.Sprintf("http://127.0.0.1:%d%s", v["P1"], tc.path))
			if resp.StatusCode != tc.status || body != tc.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
		})
	}
}

// TestActionsRulePriority evaluates rules by ascending priority, not file
// order, and runs the default action when none matches.
func TestActionsRulePriority(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "default-backend", nil)
	v := newVars(t, 2)
	v["B1"] = b.port
	e := start(t, render(t, `version: 1
load_balancers:
  - name: prio
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 20
            conditions: [{ field: path-pattern, values: ["/x/*"] }]
            actions:
              - { type: fixed-response, fixed_response: { status_code: "200", message_body: "twenty" } }
          - priority: 10
            conditions: [{ field: path-pattern, values: ["/x/y*"] }]
            actions:
              - { type: fixed-response, fixed_response: { status_code: "200", message_body: "ten" } }
          - priority: 30
            conditions: [{ field: path-pattern, values: ["*"] }]
            actions:
              - { type: fixed-response, fixed_response: { status_code: "200", message_body: "catch-all" } }
        default_actions: [{ type: forward, target_group: app }]
      - protocol: HTTP
        port: {{.P2}}
        address: 127.0.0.1
        rules:
          - priority: 5
            conditions: [{ field: path-pattern, values: ["/only"] }]
            actions:
              - { type: fixed-response, fixed_response: { status_code: "200", message_body: "only" } }
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
`, v))
	e.waitHealthy("app", 1)
	cases := []struct {
		port any
		path string
		want string
	}{
		{v["P1"], "/x/y", "ten"},
		{v["P1"], "/x/yz/1", "ten"},
		{v["P1"], "/x/z", "twenty"},
		{v["P1"], "/other", "catch-all"},
		{v["P2"], "/only", "only"},
		{v["P2"], "/other", "default-backend"},
	}
	c := client()
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.port == v["P2"], tc.path), func(t *testing.T) {
			resp, body := get(t, c, fmt.Sprintf("http://127.0.0.1:%d%s", tc.port, tc.path))
			if resp.StatusCode != 200 || string(body) != tc.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestActionsConditions checks every condition type: values within one
// condition are ORed, conditions are ANDed, and source-ip looks at the
// connecting address, never X-Forwarded-For.
func TestActionsConditions(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "fallback", nil)
	v := newVars(t, 1)
	v["B1"] = b.port
	e := start(t, render(t, `version: 1
load_balancers:
  - name: cond
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions:
              - { field: path-pattern, values: ["/src"] }
              - { field: source-ip, values: ["10.0.0.0/8"] }
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "src10" } }]
          - priority: 2
            conditions:
              - { field: path-pattern, values: ["/src"] }
              - { field: source-ip, values: ["192.168.0.0/16", "127.0.0.0/8"] }
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "src127" } }]
          - priority: 3
            conditions: [{ field: host-header, values: ["*.example.com"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "host" } }]
          - priority: 4
            conditions: [{ field: path-pattern, values: ["/img/*.png", "/pic?.gif"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "path" } }]
          - priority: 5
            conditions: [{ field: http-header, http_header: { name: x-env, values: ["prod*", "stag?"] } }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "header" } }]
          - priority: 6
            conditions: [{ field: http-request-method, values: ["PUT", "PATCH"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "method" } }]
          - priority: 7
            conditions:
              - field: query-string
                query_string: [{ key: version, value: v1 }, { value: "beta*" }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "query" } }]
          - priority: 8
            conditions:
              - { field: host-header, values: ["and.test"] }
              - { field: path-pattern, values: ["/and"] }
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "and" } }]
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
`, v))
	e.waitHealthy("app", 1)
	cases := []struct {
		name   string
		method string
		path   string
		hdr    []string
		want   string
	}{
		{"source 127/8 matches", "GET", "/src", nil, "src127"},
		{"xff does not make source 10/8", "GET", "/src", []string{"X-Forwarded-For", "10.1.2.3"}, "src127"},
		{"host wildcard", "GET", "/", []string{"Host", "a.example.com"}, "host"},
		{"host case-insensitive", "GET", "/", []string{"Host", "A.B.EXAMPLE.COM:8080"}, "host"},
		{"host wildcard needs a label", "GET", "/", []string{"Host", "example.com"}, "fallback"},
		{"path first value", "GET", "/img/a/b.png?x=1", nil, "path"},
		{"path second value", "GET", "/pic1.gif", nil, "path"},
		{"path case-sensitive", "GET", "/IMG/a.png", nil, "fallback"},
		{"path not query", "GET", "/x?p=/img/a.png", nil, "fallback"},
		{"header case-insensitive", "GET", "/", []string{"X-ENV", "PRODUCTION"}, "header"},
		{"header second value", "GET", "/", []string{"X-Env", "stage"}, "header"},
		{"header repeated", "GET", "/", []string{"X-Env", "dev", "X-Env", "prod-eu"}, "header"},
		{"header no match", "GET", "/", []string{"X-Env", "dev"}, "fallback"},
		{"method PUT", "PUT", "/", nil, "method"},
		{"method PATCH", "PATCH", "/", nil, "method"},
		{"method case-sensitive", "put", "/", nil, "fallback"},
		{"method no match", "DELETE", "/", nil, "fallback"},
		{"query key value", "GET", "/?a=1&Version=V1", nil, "query"},
		{"query any key", "GET", "/?channel=beta-2", nil, "query"},
		{"query no match", "GET", "/?version=v2", nil, "fallback"},
		{"and both", "GET", "/and", []string{"Host", "and.test"}, "and"},
		{"and host only", "GET", "/other", []string{"Host", "and.test"}, "fallback"},
		{"and path only", "GET", "/and", []string{"Host", "or.test"}, "fallback"},
		{"nothing matches", "GET", "/", nil, "fallback"},
	}
	c := client()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, fmt.Sprintf("http://127.0.0.1:%d%s", v["P1"], tc.path), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				if tc.hdr[i] == "Host" {
					req.Host = tc.hdr[i+1]
					continue
				}
				req.Header.Add(tc.hdr[i], tc.hdr[i+1])
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || string(body) != tc.want {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}
