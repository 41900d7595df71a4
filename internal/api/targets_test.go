package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestRegisterTargets registers and deregisters targets; a target listed
// twice is registered once and one deregistration removes it.
func TestRegisterTargets(t *testing.T) {
	e := newEnv(t, envOptions{})
	port := freePort(t)
	e.webSetup(port)
	a := map[string]any{"id": "127.0.0.1", "port": 5}
	b := map[string]any{"id": "127.0.0.2"} // the group's port, 80
	targets := func(group string) string {
		return fmt.Sprint(e.must(200, "GET", "/api/v1/target_groups/"+group+"/targets", nil).list("targets"))
	}

	r := e.must(200, "POST", "/api/v1/target_groups/app/targets", map[string]any{"targets": []any{a, a, b}})
	want := "[map[id:127.0.0.1 port:5] map[id:127.0.0.2 port:80]]"
	if got := fmt.Sprint(r.list("targets")); got != want {
		t.Errorf("register: %s, want %s", got, want)
	}
	// Registering again, with the group's port spelt out, changes nothing.
	e.must(200, "POST", "/api/v1/target_groups/app/targets", map[string]any{"targets": []any{a, map[string]any{"id": "127.0.0.2", "port": 80}}})
	if got := targets("app"); got != want {
		t.Errorf("after registering again: %s, want %s", got, want)
	}
	r = e.must(200, "POST", "/api/v1/target_groups/app/targets/deregister", map[string]any{"targets": []any{a}})
	if got, want := fmt.Sprint(r.list("targets")), "[map[id:127.0.0.2 port:80]]"; got != want {
		t.Errorf("deregister: %s, want %s", got, want)
	}
	e.must(200, "POST", "/api/v1/target_groups/app/targets/deregister", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.2", "port": 80}}})
	if got := targets("app"); got != "[]" {
		t.Errorf("after deregistering all: %s", got)
	}
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/app", nil).body, map[string]any{"registered_targets": 0})

	// Targets given when the group is created are registered the same way.
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "more", "protocol": "HTTP", "port": 80, "targets": []any{a, a}})
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/more", nil).body, map[string]any{"registered_targets": 1})
	e.must(200, "POST", "/api/v1/target_groups/more/targets/deregister", map[string]any{"targets": []any{a}})
	if got := targets("more"); got != "[]" {
		t.Errorf("after deregistering: %s", got)
	}

	wantError(t, e.do("POST", "/api/v1/target_groups/nope/targets", map[string]any{"targets": []any{a}}), 404, "NotFound")
	wantError(t, e.do("POST", "/api/v1/target_groups/nope/targets/deregister", map[string]any{"targets": []any{a}}), 404, "NotFound")
	wantError(t, e.do("GET", "/api/v1/target_groups/nope/targets", nil), 404, "NotFound")
}

// TestRegisterTargetErrors checks that a bad target is named by its index
// in the request, whatever the group already holds. Regression: the index
// was the one in the group, targets already registered first.
func TestRegisterTargetErrors(t *testing.T) {
	e, _ := newFileEnv(t) // filetg has one target
	e.must(201, "POST", "/api/v1/target_groups", map[string]any{"name": "app", "protocol": "HTTP", "port": 80,
		"targets": []any{map[string]any{"id": "10.0.0.1"}, map[string]any{"id": "10.0.0.2"}}})
	for _, group := range []string{"filetg", "app"} {
		r := e.do("POST", "/api/v1/target_groups/"+group+"/targets", map[string]any{"targets": []any{
			map[string]any{"id": "10.0.0.1"}, map[string]any{"id": "10.0.0.9", "port": 70000}, map[string]any{"id": "not a host"}}})
		wantError(t, r, 400, "ValidationError")
		var fields []string
		for _, f := range r.fields() {
			fields = append(fields, f["field"].(string))
		}
		if got, want := fmt.Sprint(fields), "[targets[1].port targets[2].id]"; got != want {
			t.Errorf("%s: fields %s, want %s", group, got, want)
		}
		if msg := r.errMessage(); !strings.HasPrefix(msg, "targets[1].port: ") {
			t.Errorf("%s: message %q", group, msg)
		}
	}
}
