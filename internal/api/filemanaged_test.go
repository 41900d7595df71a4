package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFileManaged checks that the resources the config file declares can
// be read but not changed through the API, and that the answer names the
// file to edit instead.
func TestFileManaged(t *testing.T) {
	e, v := newFileEnv(t)
	lid := fmt.Sprintf("filelb:%d", v.Port)
	rid := lid + ":filerule"
	certPEM, keyPEM, _ := selfSigned(t, "file.test")
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": 80})

	for _, path := range []string{
		"/api/v1/load_balancers/filelb", "/api/v1/listeners/" + lid, "/api/v1/rules/" + rid,
		"/api/v1/target_groups/filetg", "/api/v1/certificates/filecert",
	} {
		r := e.must(200, "GET", path, nil)
		if r.body["managed_by"] != "file" {
			t.Errorf("GET %s: managed_by %v, want file", path, r.body["managed_by"])
		}
	}

	cases := []struct {
		name         string
		method, path string
		body         any
	}{
		{"patch load balancer", "PATCH", "/api/v1/load_balancers/filelb", map[string]any{"idle_timeout": "30s"}},
		{"delete load balancer", "DELETE", "/api/v1/load_balancers/filelb", nil},
		{"add listener", "POST", "/api/v1/listeners", map[string]any{"load_balancer": "filelb", "protocol": "HTTP", "port": freePort(t), "default_actions": forwardTo("app")}},
		{"patch listener", "PATCH", "/api/v1/listeners/" + lid, map[string]any{"default_actions": fixed("x")}},
		{"put listener", "PUT", "/api/v1/listeners/" + lid, map[string]any{"protocol": "HTTP", "default_actions": fixed("x")}},
		{"move listener", "PATCH", "/api/v1/listeners/" + lid, map[string]any{"port": freePort(t)}},
		{"delete listener", "DELETE", "/api/v1/listeners/" + lid, nil},
		{"add rule", "POST", "/api/v1/rules", map[string]any{"listener": lid, "priority": 9, "conditions": pathIs("/x"), "actions": fixed("x")}},
		{"patch rule", "PATCH", "/api/v1/rules/" + rid, map[string]any{"priority": 6}},
		{"put rule", "PUT", "/api/v1/rules/" + rid, map[string]any{"priority": 6, "conditions": pathIs("/x"), "actions": fixed("x")}},
		{"delete rule", "DELETE", "/api/v1/rules/" + rid, nil},
		{"set rule priorities", "POST", "/api/v1/rules/priorities", map[string]any{"rule_priorities": []any{map[string]any{"rule": rid, "priority": 7}}}},
		{"patch target group", "PATCH", "/api/v1/target_groups/filetg", map[string]any{"port": 81}},
		{"put target group", "PUT", "/api/v1/target_groups/filetg", map[string]any{"protocol": "HTTP", "port": 81}},
		{"delete target group", "DELETE", "/api/v1/target_groups/filetg", nil},
		{"patch attributes", "PATCH", "/api/v1/target_groups/filetg/attributes", map[string]any{"deregistration_delay": "1s"}},
		{"deregister file target", "POST", "/api/v1/target_groups/filetg/targets/deregister",
			map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": v.Backend}}}},
		{"deregister file target by group port", "POST", "/api/v1/target_groups/filetg/targets/deregister",
			map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1"}}}},
		{"import over certificate", "POST", "/api/v1/certificates", map[string]any{"name": "filecert", "certificate": certPEM, "private_key": keyPEM}},
		{"re-import certificate", "PUT", "/api/v1/certificates/filecert", map[string]any{"certificate": certPEM, "private_key": keyPEM}},
		{"delete certificate", "DELETE", "/api/v1/certificates/filecert", nil},
	}
	before := e.must(200, "GET", "/api/v1/export", nil).body["config"]
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.body)
			wantError(t, r, 409, "FileManaged")
			if !strings.Contains(r.errMessage(), e.file) {
				t.Errorf("message %q does not name the config file %s", r.errMessage(), e.file)
			}
		})
	}
	if after := e.must(200, "GET", "/api/v1/export", nil).body["config"]; after != before {
		t.Errorf("refused changes changed the config:\n%s\nwas\n%s", after, before)
	}
	// The file's listener still serves.
	waitBody(t, lbURL(v.Port, "/file/x"), "file")
}

// TestRegisterIntoFileGroup registers a target through the API in a group
// the file declares, serves traffic through it, and deregisters it; the
// file's own target stays.
func TestRegisterIntoFileGroup(t *testing.T) {
	e, v := newFileEnv(t)
	b := newBackend(t, "api")
	waitBody(t, lbURL(v.Port, "/"), "file")
	target := map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": b.port}}}
	for range 2 { // the second registration is a no-op
		r := e.must(200, "POST", "/api/v1/target_groups/filetg/targets", target)
		if n := len(r.list("targets")); n != 2 {
			t.Fatalf("targets after registering: %s", r)
		}
	}
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/filetg", nil).body,
		map[string]any{"managed_by": "file", "registered_targets": 2})
	managed := map[string]string{}
	for _, d := range e.must(200, "GET", "/api/v1/target_groups/filetg/health", nil).list("target_health_descriptions") {
		tg := d["target"].(map[string]any)
		managed[fmt.Sprint(tg["port"])] = d["managed_by"].(string)
	}
	if want := map[string]string{fmt.Sprint(v.Backend): "file", fmt.Sprint(b.port): "api"}; fmt.Sprint(managed) != fmt.Sprint(want) {
		t.Errorf("health managed_by = %v, want %v", managed, want)
	}
	seen := map[string]bool{}
	waitFor(t, 5*time.Second, "both backends to answer", func() bool {
		if _, body, err := get(lbURL(v.Port, "/")); err == nil {
			seen[body] = true
		}
		return seen["file"] && seen["api"]
	})

	r := e.must(200, "POST", "/api/v1/target_groups/filetg/targets/deregister", target)
	if l := r.list("targets"); len(l) != 1 || l[0]["port"] != float64(v.Backend) {
		t.Errorf("targets after deregistering: %s", r)
	}
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/filetg", nil).body, map[string]any{"registered_targets": 1})
	wantError(t, e.do("POST", "/api/v1/target_groups/filetg/targets/deregister", target), 400, "ValidationError")
	for range 5 {
		waitBody(t, lbURL(v.Port, "/"), "file")
	}
}

// TestMissingUnderFileLB: a listener or rule that does not exist is not
// found (404), even under a load balancer the file declares.
func TestMissingUnderFileLB(t *testing.T) {
	e, v := newFileEnv(t)
	lid := fmt.Sprintf("filelb:%d", v.Port)
	for _, c := range []struct{ method, path string }{
		{"DELETE", "/api/v1/rules/" + lid + ":nope"},
		{"PATCH", "/api/v1/rules/" + lid + ":nope"},
		{"DELETE", "/api/v1/listeners/filelb:1"},
		{"PATCH", "/api/v1/listeners/filelb:1"},
		{"DELETE", "/api/v1/rules/filelb:1:x"},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{}
		}
		wantError(t, e.do(c.method, c.path, body), 404, "NotFound")
	}
}
