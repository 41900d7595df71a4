package api_test

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestAlreadyExists creates every kind of resource twice, and under the
// names the config file uses.
func TestAlreadyExists(t *testing.T) {
	e, v := newFileEnv(t)
	port := freePort(t)
	e.webSetup(port)
	lid := fmt.Sprintf("web:%d", port)
	rule := map[string]any{"listener": lid, "name": "chat", "priority": 10, "conditions": pathIs("/chat/*"), "actions": forwardTo("app")}
	e.must(201, "POST", "/api/v1/rules", rule)
	e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "dev", "source": "internal", "domains": []string{"app.test"}})
	cases := []struct {
		name string
		path string
		body map[string]any
	}{
		{"load balancer", "/api/v1/load_balancers", map[string]any{"name": "web"}},
		{"file load balancer", "/api/v1/load_balancers", map[string]any{"name": "filelb"}},
		{"listener", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": port, "default_actions": fixed("x")}},
		{"rule", "/api/v1/rules", map[string]any{"listener": lid, "name": "chat", "priority": 11, "conditions": pathIs("/x"), "actions": fixed("x")}},
		{"target group", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": 80}},
		{"file target group", "/api/v1/target_groups", map[string]any{"name": "filetg", "protocol": "HTTP", "port": 80}},
		{"certificate", "/api/v1/certificates", map[string]any{"name": "dev", "source": "internal", "domains": []string{"other.test"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", tc.path, tc.body), 409, "AlreadyExists")
		})
	}
	// Moving a listener onto a port another listener of the load balancer
	// has.
	other := freePort(t)
	e.must(201, "POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": other, "address": "127.0.0.1", "default_actions": fixed("x")})
	wantError(t, e.do("PATCH", "/api/v1/listeners/"+lid, map[string]any{"port": other}), 409, "AlreadyExists")
	// The file's listener is on another load balancer; the ports clash.
	r := e.do("PATCH", "/api/v1/listeners/"+lid, map[string]any{"port": v.Port})
	if r.status != 400 {
		t.Errorf("moving onto the file's port: got %s, want 400", r)
	}
}

// TestResourceInUse refuses deleting a target group still forwarded to and
// a certificate still served.
func TestResourceInUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	port := freePort(t)
	e.webSetup(port)
	lid := fmt.Sprintf("web:%d", port)
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "chat", "protocol": "HTTP", "port": 80})
	e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": lid, "name": "chat", "priority": 10,
		"conditions": pathIs("/chat/*"), "actions": []any{map[string]any{"type": "forward", "forward": map[string]any{
			"target_groups": []any{map[string]any{"name": "chat", "weight": 1}, map[string]any{"name": "app", "weight": 1}}}}}})
	certPEM, keyPEM, _ := selfSigned(t, "app.test")
	e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "site", "certificate": certPEM, "private_key": keyPEM})
	tls := freePort(t)
	tlsID := fmt.Sprintf("web:%d", tls)
	e.must(201, "POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTPS", "port": tls,
		"address": "127.0.0.1", "certificates": []string{"site"}, "default_actions": fixed("tls")})
	wantFields(t, e.must(200, "GET", "/api/v1/certificates/site", nil).body, map[string]any{"in_use_by": []string{tlsID}})
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/chat", nil).body, map[string]any{"load_balancers": []string{"web"}})

	for _, path := range []string{"/api/v1/target_groups/app", "/api/v1/target_groups/chat", "/api/v1/certificates/site"} {
		r := e.do("DELETE", path, nil)
		wantError(t, r, 409, "ResourceInUse")
		e.must(200, "GET", path, nil)
	}
	e.must(204, "DELETE", "/api/v1/rules/"+lid+":chat", nil)
	e.must(204, "DELETE", "/api/v1/target_groups/chat", nil)
	e.must(204, "DELETE", "/api/v1/listeners/"+tlsID, nil)
	e.must(204, "DELETE", "/api/v1/certificates/site", nil)
	// Deleting the load balancer takes its listeners; the group is free.
	e.must(204, "DELETE", "/api/v1/load_balancers/web", nil)
	wantError(t, e.do("GET", "/api/v1/listeners/"+lid, nil), 404, "NotFound")
	e.must(204, "DELETE", "/api/v1/target_groups/app", nil)
	waitFor(t, 5*time.Second, "the listener to close", func() bool { return !accepts(port) })
}

// TestPortInUse refuses a listener on a port another process holds.
func TestPortInUse(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.webSetup(freePort(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	r := e.do("POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": port,
		"address": "127.0.0.1", "default_actions": fixed("x")})
	wantError(t, r, 409, "PortInUse")
	wantError(t, e.do("GET", fmt.Sprintf("/api/v1/listeners/web:%d", port), nil), 404, "NotFound")
}

// accepts reports whether something accepts connections on the port.
func accepts(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestIfMatch refuses writes with a stale ETag (412) and accepts them with
// the current one.
func TestIfMatch(t *testing.T) {
	certA, keyA, _ := selfSigned(t, "app.test")
	certB, keyB, _ := selfSigned(t, "app.test")
	cases := []struct {
		name  string
		path  func(port int) string
		setup func(e *env, port int)
		patch map[string]any // nil when not offered
		put   map[string]any // nil when not offered
		del   bool
	}{
		{name: "load balancer", path: func(int) string { return "/api/v1/load_balancers/web" },
			patch: map[string]any{"idle_timeout": "30s"}, del: true},
		{name: "listener", path: func(p int) string { return fmt.Sprintf("/api/v1/listeners/web:%d", p) },
			patch: map[string]any{"default_actions": fixed("a")}, put: map[string]any{"protocol": "HTTP", "address": "127.0.0.1", "default_actions": fixed("b")}, del: true},
		{name: "rule", path: func(p int) string { return fmt.Sprintf("/api/v1/rules/web:%d:chat", p) },
			setup: func(e *env, p int) {
				e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": fmt.Sprintf("web:%d", p), "name": "chat", "priority": 10,
					"conditions": pathIs("/chat/*"), "actions": fixed("chat")})
			},
			patch: map[string]any{"priority": 20}, put: map[string]any{"priority": 30, "conditions": pathIs("/c"), "actions": fixed("c")}, del: true},
		{name: "target group", path: func(int) string { return "/api/v1/target_groups/other" },
			setup: func(e *env, p int) {
				e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "other", "protocol": "HTTP", "port": 80})
			},
			patch: map[string]any{"port": 81}, put: map[string]any{"protocol": "HTTP", "port": 82}, del: true},
		{name: "attributes", path: func(int) string { return "/api/v1/target_groups/app/attributes" },
			patch: map[string]any{"deregistration_delay": "5s"}},
		{name: "certificate", path: func(int) string { return "/api/v1/certificates/site" },
			setup: func(e *env, p int) {
				e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "site", "certificate": certA, "private_key": keyA})
			},
			put: map[string]any{"certificate": certB, "private_key": keyB}, del: true},
	}
	stale := `"0123456789abcdef"`
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			port := freePort(t)
			e.webSetup(port)
			if tc.setup != nil {
				tc.setup(e, port)
			}
			path := tc.path(port)
			tag := e.must(200, "GET", path, nil).header.Get("ETag")
			if tag == "" {
				t.Fatal("no ETag")
			}
			before := e.must(200, "GET", path, nil).raw
			if tc.patch != nil {
				wantError(t, e.do("PATCH", path, tc.patch, "If-Match", stale), 412, "PreconditionFailed")
			}
			if tc.put != nil {
				wantError(t, e.do("PUT", path, tc.put, "If-Match", stale), 412, "PreconditionFailed")
			}
			if tc.del {
				wantError(t, e.do("DELETE", path, nil, "If-Match", stale), 412, "PreconditionFailed")
			}
			if after := e.must(200, "GET", path, nil).raw; string(after) != string(before) {
				t.Errorf("refused writes changed the resource:\n%s\nwas\n%s", after, before)
			}
			if tc.patch != nil {
				r := e.must(200, "PATCH", path, tc.patch, "If-Match", tag)
				// The ETag just replaced is stale now.
				wantError(t, e.do("PATCH", path, tc.patch, "If-Match", tag), 412, "PreconditionFailed")
				tag = r.header.Get("ETag")
			}
			if tc.put != nil {
				r := e.must(200, "PUT", path, tc.put, "If-Match", tag)
				wantError(t, e.do("PUT", path, tc.put, "If-Match", tag), 412, "PreconditionFailed")
				tag = r.header.Get("ETag")
			}
			if got := e.must(200, "GET", path, nil).header.Get("ETag"); got != tag {
				t.Errorf("GET ETag %s, the last write answered %s", got, tag)
			}
			if tc.del {
				e.must(204, "DELETE", path, nil, "If-Match", tag)
			}
		})
	}
}

// TestSetRulePriorities swaps two rules' priorities in one call, and
// refuses a list with a bad entry as a whole.
func TestSetRulePriorities(t *testing.T) {
	e := newEnv(t, envOptions{})
	port := freePort(t)
	e.webSetup(port)
	lid := fmt.Sprintf("web:%d", port)
	for name, prio := range map[string]int{"a": 10, "b": 20} {
		e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": lid, "name": name, "priority": prio,
			"conditions": pathIs("/x"), "actions": fixed(name)})
	}
	waitBody(t, lbURL(port, "/x"), "a")

	r := e.must(200, "POST", "/api/v1/rules/priorities", map[string]any{"rule_priorities": []any{
		map[string]any{"rule": lid + ":a", "priority": 20},
		map[string]any{"rule": lid + ":b", "priority": 10},
	}})
	got := map[string]any{}
	for _, rule := range r.list("rules") {
		got[rule["id"].(string)] = rule["priority"]
	}
	if fmt.Sprint(got) != fmt.Sprint(map[string]any{lid + ":a": 20, lid + ":b": 10}) {
		t.Errorf("answer: %s", r)
	}
	if ids := listIDs(e.must(200, "GET", "/api/v1/rules?listener="+lid, nil), "rules"); fmt.Sprint(ids) != fmt.Sprint([]string{lid + ":b", lid + ":a"}) {
		t.Errorf("rules by priority: %v", ids)
	}
	waitBody(t, lbURL(port, "/x"), "b")

	// All or nothing: the unknown rule refuses the whole list.
	r = e.do("POST", "/api/v1/rules/priorities", map[string]any{"rule_priorities": []any{
		map[string]any{"rule": lid + ":a", "priority": 5},
		map[string]any{"rule": lid + ":nope", "priority": 6},
	}})
	wantError(t, r, 404, "NotFound")
	wantFields(t, e.must(200, "GET", "/api/v1/rules/"+lid+":a", nil).body, map[string]any{"priority": 20})
	// Two rules on one priority.
	r = e.do("POST", "/api/v1/rules/priorities", map[string]any{"rule_priorities": []any{
		map[string]any{"rule": lid + ":a", "priority": 10},
	}})
	wantError(t, r, 400, "ValidationError")
	wantError(t, e.do("GET", "/api/v1/rules?listener=web:1", nil), 404, "NotFound")
}
