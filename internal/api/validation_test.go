package api_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidation checks that a refused change answers 400 with the field
// path relative to the resource being changed, and changes nothing.
func TestValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	port := freePort(t)
	e.webSetup(port)
	lid := fmt.Sprintf("web:%d", port)
	e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": lid, "name": "chat", "priority": 10,
		"conditions": pathIs("/chat/*"), "actions": forwardTo("app")})
	certPEM, _, _ := selfSigned(t, "app.test")
	_, otherKey, _ := selfSigned(t, "app.test")
	before := e.must(200, "GET", "/api/v1/export", nil).body["config"]

	cases := []struct {
		name         string
		method, path string
		body         any
		field        string // fields[0].field
		value        string // fields[0].value, when set
		msg          string // in fields[0].message, when set
	}{
		{"interval out of range", "POST", "/api/v1/target_groups",
			map[string]any{"name": "x", "protocol": "HTTP", "port": 80, "health_check": map[string]any{"interval": "1s"}},
			"health_check.interval", "1s", "out of range"},
		{"unknown key", "POST", "/api/v1/target_groups",
			map[string]any{"name": "x", "protcol": "HTTP", "port": 80}, "protcol", "", `did you mean "protocol"`},
		{"wrong type", "POST", "/api/v1/target_groups",
			map[string]any{"name": "x", "protocol": "HTTP", "port": "80"}, "port", "80", "not a whole number"},
		{"nested wrong type", "POST", "/api/v1/target_groups",
			map[string]any{"name": "x", "protocol": "HTTP", "port": 80, "health_check": map[string]any{"healthy_threshold": true}},
			"health_check.healthy_threshold", "", "not a whole number"},
		{"bad group name", "POST", "/api/v1/target_groups",
			map[string]any{"name": "x y", "protocol": "HTTP", "port": 80}, "name", "x y", "not a valid name"},
		{"not JSON", "POST", "/api/v1/target_groups", `{"name": `, "", "", ""},
		{"empty body", "POST", "/api/v1/target_groups", " ", "(body)", "", "empty"},
		{"patch interval", "PATCH", "/api/v1/target_groups/app",
			map[string]any{"health_check": map[string]any{"interval": "1s"}}, "health_check.interval", "1s", ""},
		{"patch not an object", "PATCH", "/api/v1/target_groups/app", `[1]`, "(body)", "", ""},
		// Regression: a null PATCH body replaced the resource with an
		// empty one.
		{"patch null group", "PATCH", "/api/v1/target_groups/app", `null`, "(body)", "null", ""},
		{"patch null listener", "PATCH", "/api/v1/listeners/" + lid, `null`, "(body)", "null", ""},
		{"patch null rule", "PATCH", "/api/v1/rules/" + lid + ":chat", `null`, "(body)", "null", ""},
		{"patch attributes", "PATCH", "/api/v1/target_groups/app/attributes",
			map[string]any{"deregistration_delay": "4000s"}, "deregistration_delay", "4000s", "out of range"},
		{"attributes unknown key", "PATCH", "/api/v1/target_groups/app/attributes",
			map[string]any{"deregistration_dely": "1s"}, "deregistration_dely", "", `did you mean "deregistration_delay"`},
		{"listener to a missing group", "POST", "/api/v1/listeners",
			map[string]any{"load_balancer": "web", "protocol": "HTTP", "port": freePort(t), "address": "127.0.0.1", "default_actions": forwardTo("nope")},
			"default_actions[0].target_group", "nope", ""},
		{"listener without load balancer", "POST", "/api/v1/listeners",
			map[string]any{"protocol": "HTTP", "port": freePort(t), "default_actions": forwardTo("app")}, "load_balancer", "", ""},
		{"listener bad protocol", "PATCH", "/api/v1/listeners/" + lid,
			map[string]any{"protocol": "FTP"}, "protocol", "FTP", ""},
		{"listener port type", "PATCH", "/api/v1/listeners/" + lid,
			map[string]any{"port": "x"}, "port", "x", ""},
		{"listener rules in body", "PATCH", "/api/v1/listeners/" + lid,
			map[string]any{"rules": []any{}}, "rules", "", ""},
		{"HTTPS listener without certificate", "POST", "/api/v1/listeners",
			map[string]any{"load_balancer": "web", "protocol": "HTTPS", "port": freePort(t), "address": "127.0.0.1", "default_actions": forwardTo("app")},
			"certificates", "", ""},
		{"listener bad ID", "GET", "/api/v1/listeners/web", nil, "id", "web", "LOAD_BALANCER:PORT"},
		{"listener bad port", "GET", "/api/v1/listeners/web:http", nil, "id", "web:http", ""},
		{"listener port zero", "DELETE", "/api/v1/listeners/web:0", nil, "id", "web:0", ""},
		{"rule bad ID", "GET", "/api/v1/rules/web", nil, "id", "web", "LOAD_BALANCER:PORT:NAME"},
		{"rule bad ID patch", "PATCH", "/api/v1/rules/" + lid, map[string]any{"priority": 3}, "id", lid, ""},
		{"rule priority duplicate", "POST", "/api/v1/rules",
			map[string]any{"listener": lid, "name": "dup", "priority": 10, "conditions": pathIs("/dup"), "actions": forwardTo("app")},
			"priority", "10", ""},
		{"rule priority out of range", "PATCH", "/api/v1/rules/" + lid + ":chat",
			map[string]any{"priority": 50001}, "priority", "50001", ""},
		{"rule without listener", "POST", "/api/v1/rules",
			map[string]any{"priority": 11, "conditions": pathIs("/x"), "actions": forwardTo("app")}, "listener", "", ""},
		{"rule with a bad listener ID", "POST", "/api/v1/rules",
			map[string]any{"listener": "web", "priority": 11, "conditions": pathIs("/x"), "actions": forwardTo("app")}, "listener", "web", ""},
		{"rule condition", "POST", "/api/v1/rules",
			map[string]any{"listener": lid, "priority": 11, "conditions": []any{map[string]any{"field": "path", "values": []string{"/x"}}}, "actions": forwardTo("app")},
			"conditions[0].field", "path", ""},
		{"rule rename", "PATCH", "/api/v1/rules/" + lid + ":chat", map[string]any{"name": "talk"}, "name", "talk", ""},
		{"swap to a duplicate", "POST", "/api/v1/rules/priorities",
			map[string]any{"rule_priorities": []any{map[string]any{"rule": lid + ":chat", "priority": 0}}}, "priority", "", ""},
		{"no priorities", "POST", "/api/v1/rules/priorities", map[string]any{"rule_priorities": []any{}}, "rule_priorities", "", ""},
		{"load balancer name", "POST", "/api/v1/load_balancers", map[string]any{"name": "-web"}, "name", "-web", ""},
		{"load balancer idle timeout", "PATCH", "/api/v1/load_balancers/web", map[string]any{"idle_timeout": "5000s"}, "idle_timeout", "5000s", ""},
		{"load balancer with a bad listener", "POST", "/api/v1/load_balancers",
			map[string]any{"name": "www", "listeners": []any{map[string]any{"protocol": "HTTP", "port": freePort(t), "default_actions": forwardTo("nope")}}},
			"listeners[0].default_actions[0].target_group", "nope", ""},
		{"load balancer rename", "PATCH", "/api/v1/load_balancers/web", map[string]any{"name": "www"}, "name", "", ""},
		{"register nothing", "POST", "/api/v1/target_groups/app/targets", map[string]any{"targets": []any{}}, "targets", "", ""},
		{"register without id", "POST", "/api/v1/target_groups/app/targets", map[string]any{"targets": []any{map[string]any{"port": 80}}}, "targets[0].id", "", ""},
		{"register bad port", "POST", "/api/v1/target_groups/app/targets",
			map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": 70000}}}, "targets[0].port", "70000", ""},
		{"deregister unknown", "POST", "/api/v1/target_groups/app/targets/deregister",
			map[string]any{"targets": []any{map[string]any{"id": "127.0.0.9", "port": 81}}}, "targets[0]", "127.0.0.9:81", "not registered"},
		{"certificate domain", "POST", "/api/v1/certificates",
			map[string]any{"name": "dev", "source": "internal", "domains": []string{"not a name"}}, "domains[0]", "not a name", ""},
		{"certificate source", "POST", "/api/v1/certificates",
			map[string]any{"name": "dev", "source": "magic"}, "source", "magic", ""},
		{"import without key", "POST", "/api/v1/certificates",
			map[string]any{"name": "site", "certificate": certPEM}, "private_key", "", ""},
		{"import with another key", "POST", "/api/v1/certificates",
			map[string]any{"name": "site", "certificate": certPEM, "private_key": otherKey}, "private_key", "", ""},
		{"import garbage", "POST", "/api/v1/certificates",
			map[string]any{"name": "site", "certificate": "hello", "private_key": otherKey}, "certificate", "", ""},
		{"certificate without name", "POST", "/api/v1/certificates",
			map[string]any{"source": "internal", "domains": []string{"app.test"}}, "name", "", "missing"},
		{"import without name", "POST", "/api/v1/certificates",
			map[string]any{"certificate": certPEM, "private_key": otherKey}, "name", "", "missing"},
		{"import name escapes the data dir", "POST", "/api/v1/certificates",
			map[string]any{"name": "../escape", "source": "internal", "domains": []string{"app.test"}}, "name", "../escape", ""},
		{"renew an import", "POST", "/api/v1/certificates/nope/renew", nil, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body)
			if tc.name == "renew an import" {
				wantError(t, r, 404, "NotFound")
				return
			}
			wantError(t, r, 400, "ValidationError")
			if r.errMessage() == "" {
				t.Errorf("no message: %s", r)
			}
			if tc.field == "" {
				return
			}
			f := r.fields()
			if len(f) == 0 {
				t.Fatalf("no fields: %s", r)
			}
			if f[0]["field"] != tc.field {
				t.Errorf("fields[0].field = %q, want %q (%s)", f[0]["field"], tc.field, r)
			}
			if tc.value != "" && f[0]["value"] != tc.value {
				t.Errorf("fields[0].value = %q, want %q (%s)", f[0]["value"], tc.value, r)
			}
			if msg, _ := f[0]["message"].(string); !strings.Contains(msg, tc.msg) {
				t.Errorf("fields[0].message = %q, want it to contain %q", msg, tc.msg)
			}
		})
	}
	if after := e.must(200, "GET", "/api/v1/export", nil).body["config"]; after != before {
		t.Errorf("refused changes changed the config:\n%s\nwas\n%s", after, before)
	}
	// Nothing was written beside the data dir by the name that escapes it.
	if m, _ := filepath.Glob(filepath.Join(e.dataDir, "escape*")); len(m) > 0 {
		t.Errorf("files written outside the import dir: %v", m)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.dataDir), "escape")); err == nil {
		t.Error("file written outside the data dir")
	}
}

// TestMalformedJSON: a body that is not one JSON object is refused with
// encoding/json's account of where it breaks.
func TestMalformedJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	for body, want := range map[string]string{
		`{"name": "x", "port": 80`:    "not valid JSON: unexpected EOF",
		`[]`:                          "is a JSON array; send a JSON object",
		`{"name": "x"} {"name": "y"}`: "more after its JSON object",
		`{"name": "x",}`:              "invalid character '}'",
	} {
		r := e.do("POST", "/api/v1/target_groups", body)
		wantError(t, r, 400, "ValidationError")
		if !strings.Contains(r.errMessage(), want) {
			t.Errorf("body %s: message %q, want it to say %q", body, r.errMessage(), want)
		}
	}
}
