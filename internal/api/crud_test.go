package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// lookup returns the value at a dotted path ("health_check.path") of a
// JSON object.
func lookup(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// wantFields checks the values at the dotted paths of want, compared as
// JSON.
func wantFields(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		g, _ := json.Marshal(lookup(got, path))
		wj, _ := json.Marshal(w)
		if string(g) != string(wj) {
			t.Errorf("%s = %s, want %s", path, g, wj)
		}
	}
}

func listIDs(r resp, key string) []string {
	var ids []string
	for _, o := range r.list(key) {
		ids = append(ids, fmt.Sprint(o["id"]))
	}
	return ids
}

func forwardTo(group string) []any {
	return []any{map[string]any{"type": "forward", "target_group": group}}
}

func fixed(body string) []any {
	return []any{map[string]any{"type": "fixed-response", "fixed_response": map[string]any{"status_code": "200", "message_body": body}}}
}

func pathIs(p ...string) []any {
	return []any{map[string]any{"field": "path-pattern", "values": p}}
}

// TestCRUD creates, reads, lists, changes and deletes one resource of each
// kind.
func TestCRUD(t *testing.T) {
	certA, keyA, serialA := selfSigned(t, "app.test")
	certB, keyB, serialB := selfSigned(t, "app.test")
	type crudCase struct {
		name   string
		setup  func(e *env, port int)
		create string // POST path
		body   func(port int) map[string]any
		id     func(port int) string
		path   string // under /api/v1/, followed by the id
		list   string // list path and key
		key    string
		check  map[string]any
		patch  map[string]any // nil when PATCH is not offered
		patchd map[string]any
		put    map[string]any // nil when PUT is not offered
		putd   map[string]any
	}
	lbAndTG := func(e *env, port int) {
		e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": 80})
		e.must(201, "POST", "/api/v1/load_balancers", map[string]any{"name": "web"})
	}
	withListener := func(e *env, port int) {
		lbAndTG(e, port)
		e.must(201, "POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": port,
			"address": "127.0.0.1", "default_actions": forwardTo("app")})
	}
	cases := []crudCase{{
		name:   "load balancer",
		create: "/api/v1/load_balancers",
		body:   func(int) map[string]any { return map[string]any{"name": "web", "idle_timeout": "45s"} },
		id:     func(int) string { return "web" },
		path:   "/api/v1/load_balancers/",
		list:   "/api/v1/load_balancers", key: "load_balancers",
		check:  map[string]any{"name": "web", "idle_timeout": "45s", "xff_header_processing": "append", "listeners": []string{}},
		patch:  map[string]any{"xff_header_processing": "remove", "idle_timeout": nil},
		patchd: map[string]any{"xff_header_processing": "remove", "idle_timeout": "1m0s"},
	}, {
		name:   "listener",
		setup:  lbAndTG,
		create: "/api/v1/listeners",
		body: func(port int) map[string]any {
			return map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": port, "address": "127.0.0.1", "default_actions": forwardTo("app")}
		},
		id:   func(port int) string { return fmt.Sprintf("web:%d", port) },
		path: "/api/v1/listeners/",
		list: "/api/v1/listeners?load_balancer=web", key: "listeners",
		check:  map[string]any{"load_balancer": "web", "protocol": "HTTP", "default_actions": []any{map[string]any{"type": "forward", "target_group": "app"}}},
		patch:  map[string]any{"default_actions": fixed("patched")},
		patchd: map[string]any{"protocol": "HTTP", "address": "127.0.0.1", "default_actions": []any{map[string]any{"type": "fixed-response", "fixed_response": map[string]any{"status_code": "200", "message_body": "patched", "content_type": "text/plain"}}}},
		put:    map[string]any{"protocol": "HTTP", "address": "127.0.0.1", "default_actions": forwardTo("app")},
		putd:   map[string]any{"rule_ids": []string{}, "default_actions": []any{map[string]any{"type": "forward", "target_group": "app"}}},
	}, {
		name:   "rule",
		setup:  withListener,
		create: "/api/v1/rules",
		body: func(port int) map[string]any {
			return map[string]any{"listener": fmt.Sprintf("web:%d", port), "name": "chat", "priority": 10,
				"conditions": pathIs("/chat/*"), "actions": forwardTo("app")}
		},
		id:   func(port int) string { return fmt.Sprintf("web:%d:chat", port) },
		path: "/api/v1/rules/",
		list: "", key: "rules",
		check:  map[string]any{"name": "chat", "priority": 10, "conditions": pathIs("/chat/*")},
		patch:  map[string]any{"priority": 20},
		patchd: map[string]any{"priority": 20, "name": "chat", "conditions": pathIs("/chat/*")},
		put:    map[string]any{"priority": 30, "conditions": pathIs("/talk/*"), "actions": fixed("talk")},
		putd:   map[string]any{"priority": 30, "name": "chat", "conditions": pathIs("/talk/*")},
	}, {
		name:   "target group",
		create: "/api/v1/target_groups",
		body: func(int) map[string]any {
			return map[string]any{"name": "api", "protocol": "HTTP", "port": 8080, "health_check": map[string]any{"path": "/health", "interval": "10s"}}
		},
		id:   func(int) string { return "api" },
		path: "/api/v1/target_groups/",
		list: "/api/v1/target_groups", key: "target_groups",
		check:  map[string]any{"port": 8080, "health_check.path": "/health", "health_check.interval": "10s", "health_check.timeout": "5s", "registered_targets": 0, "load_balancers": []string{}},
		patch:  map[string]any{"health_check": map[string]any{"path": "/hc"}},
		patchd: map[string]any{"health_check.path": "/hc", "health_check.interval": "10s", "port": 8080},
		put:    map[string]any{"protocol": "HTTP", "port": 9090},
		putd:   map[string]any{"port": 9090, "health_check.path": "/", "health_check.interval": "30s"},
	}, {
		name:   "imported certificate",
		create: "/api/v1/certificates",
		body: func(int) map[string]any {
			return map[string]any{"name": "site", "certificate": certA, "private_key": keyA}
		},
		id:   func(int) string { return "site" },
		path: "/api/v1/certificates/",
		list: "/api/v1/certificates", key: "certificates",
		check: map[string]any{"source": "imported", "status": "ISSUED", "serial": serialA.Text(16), "sans": []string{"app.test"}, "in_use_by": []string{}},
		put:   map[string]any{"certificate": certB, "private_key": keyB},
		putd:  map[string]any{"source": "imported", "serial": serialB.Text(16)},
	}, {
		name:   "internal certificate",
		create: "/api/v1/certificates",
		body: func(int) map[string]any {
			return map[string]any{"name": "dev", "source": "internal", "domains": []string{"app.test"}}
		},
		id:   func(int) string { return "dev" },
		path: "/api/v1/certificates/",
		list: "/api/v1/certificates", key: "certificates",
		check: map[string]any{"source": "internal", "domains": []string{"app.test"}, "key_type": "ec256"},
		put:   map[string]any{"source": "internal", "domains": []string{"other.test"}},
		putd:  map[string]any{"source": "internal", "domains": []string{"other.test"}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			port := freePort(t)
			if tc.setup != nil {
				tc.setup(e, port)
			}
			id := tc.id(port)
			item := tc.path + id

			r := e.must(201, "POST", tc.create, tc.body(port))
			tag := r.header.Get("ETag")
			if !strings.HasPrefix(tag, `"`) || len(tag) < 3 {
				t.Errorf("POST: ETag %q", tag)
			}
			wantFields(t, r.body, map[string]any{"id": id, "managed_by": "api"})
			wantFields(t, r.body, tc.check)

			r = e.must(200, "GET", item, nil)
			if got := r.header.Get("ETag"); got != tag {
				t.Errorf("GET: ETag %q, POST answered %q", got, tag)
			}
			wantFields(t, r.body, tc.check)

			list := tc.list
			if list == "" {
				list = "/api/v1/rules?listener=" + fmt.Sprintf("web:%d", port)
			}
			if ids := listIDs(e.must(200, "GET", list, nil), tc.key); !strings.Contains(strings.Join(ids, ","), id) {
				t.Errorf("list %s = %v, want %s in it", list, ids, id)
			}

			if tc.patch != nil {
				r = e.must(200, "PATCH", item, tc.patch)
				wantFields(t, r.body, tc.patchd)
				if r.header.Get("ETag") == tag {
					t.Errorf("PATCH: ETag unchanged")
				}
				wantFields(t, e.must(200, "GET", item, nil).body, tc.patchd)
			} else if r := e.do("PATCH", item, map[string]any{}); r.status != 405 || r.errCode() != "MethodNotAllowed" {
				t.Errorf("PATCH where not offered: got %s, want 405 MethodNotAllowed", r)
			}
			if tc.put != nil {
				r = e.must(200, "PUT", item, tc.put)
				wantFields(t, r.body, tc.putd)
				wantFields(t, e.must(200, "GET", item, nil).body, tc.putd)
			} else if r := e.do("PUT", item, map[string]any{}); r.status != 405 || r.errCode() != "MethodNotAllowed" {
				t.Errorf("PUT where not offered: got %s, want 405 MethodNotAllowed", r)
			}

			r = e.must(204, "DELETE", item, nil)
			if len(r.raw) != 0 {
				t.Errorf("DELETE: body %q, want none", r.raw)
			}
			wantError(t, e.do("GET", item, nil), 404, "NotFound")
			wantError(t, e.do("DELETE", item, nil), 404, "NotFound")
			if ids := listIDs(e.must(200, "GET", list, nil), tc.key); strings.Contains(strings.Join(ids, ","), id) {
				t.Errorf("list after delete = %v", ids)
			}
		})
	}
}

// TestTargetGroupAttributes reads and merge-patches a group's attributes.
func TestTargetGroupAttributes(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": 80,
		"attributes": map[string]any{"slow_start": "30s"}})
	r := e.must(200, "GET", "/api/v1/target_groups/app/attributes", nil)
	wantFields(t, r.body, map[string]any{"deregistration_delay": "5m0s", "slow_start": "30s", "load_balancing_algorithm": "round_robin"})
	if r.header.Get("ETag") == "" {
		t.Error("no ETag")
	}
	r = e.must(200, "PATCH", "/api/v1/target_groups/app/attributes", map[string]any{
		"deregistration_delay": "0s", "stickiness": map[string]any{"enabled": true}, "slow_start": nil})
	want := map[string]any{"deregistration_delay": "0s", "stickiness.enabled": true, "stickiness.type": "lb_cookie", "slow_start": nil}
	wantFields(t, r.body, want)
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/app/attributes", nil).body, want)
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/app", nil).body, map[string]any{"attributes.deregistration_delay": "0s"})
	wantError(t, e.do("GET", "/api/v1/target_groups/nope/attributes", nil), 404, "NotFound")
}

// TestPutWhatGetReturns sends back what a GET returned: the read-only keys
// of the view are accepted and nothing changes.
func TestPutWhatGetReturns(t *testing.T) {
	e := newEnv(t, envOptions{})
	port := freePort(t)
	e.webSetup(port)
	e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": fmt.Sprintf("web:%d", port), "name": "chat", "priority": 10,
		"conditions": pathIs("/chat/*"), "actions": forwardTo("app")})
	for _, path := range []string{
		"/api/v1/target_groups/app",
		fmt.Sprintf("/api/v1/listeners/web:%d", port),
		fmt.Sprintf("/api/v1/rules/web:%d:chat", port),
	} {
		t.Run(path, func(t *testing.T) {
			r := e.must(200, "GET", path, nil)
			tag := r.header.Get("ETag")
			for _, method := range []string{"PUT", "PATCH"} {
				r2 := e.must(200, method, path, string(r.raw))
				if got := r2.header.Get("ETag"); got != tag {
					t.Errorf("%s of the GET body: ETag %s, was %s; body %s", method, got, tag, r2.raw)
				}
			}
		})
	}
}
