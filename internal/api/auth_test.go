package api_test

import (
	"net/http/httptest"
	"testing"

	"github.com/sluicelb/sluice/internal/api"
)

// TestAuth checks that every route family needs the token, and that the
// liveness probe does not.
func TestAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.webSetup(freePort(t))
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/load_balancers"},
		{"POST", "/api/v1/load_balancers"},
		{"GET", "/api/v1/load_balancers/web"},
		{"PATCH", "/api/v1/load_balancers/web"},
		{"DELETE", "/api/v1/load_balancers/web"},
		{"GET", "/api/v1/listeners"},
		{"POST", "/api/v1/listeners"},
		{"DELETE", "/api/v1/listeners/web:80"},
		{"GET", "/api/v1/rules"},
		{"POST", "/api/v1/rules"},
		{"POST", "/api/v1/rules/priorities"},
		{"PUT", "/api/v1/rules/web:80:x"},
		{"GET", "/api/v1/target_groups"},
		{"POST", "/api/v1/target_groups"},
		{"DELETE", "/api/v1/target_groups/app"},
		{"GET", "/api/v1/target_groups/app/attributes"},
		{"PATCH", "/api/v1/target_groups/app/attributes"},
		{"POST", "/api/v1/target_groups/app/targets"},
		{"POST", "/api/v1/target_groups/app/targets/deregister"},
		{"GET", "/api/v1/target_groups/app/health"},
		{"GET", "/api/v1/certificates"},
		{"POST", "/api/v1/certificates"},
		{"PUT", "/api/v1/certificates/site"},
		{"POST", "/api/v1/certificates/site/renew"},
		{"GET", "/api/v1/export"},
		{"GET", "/api/v1/nothing-here"},
		{"GET", "/"},
	}
	tokens := []struct{ name, header string }{
		{"no token", ""},
		{"wrong token", "Bearer wrong"},
		{"token with a suffix", "Bearer " + testToken + "x"},
		{"another scheme", "Basic " + testToken},
		{"no scheme", testToken},
	}
	for _, rt := range routes {
		for _, tk := range tokens {
			t.Run(rt.method+" "+rt.path+" "+tk.name, func(t *testing.T) {
				var hdr []string
				if tk.header != "" {
					hdr = []string{"Authorization", tk.header}
				}
				r := doAs(t, e.api, "", rt.method, rt.path, `{}`, hdr...)
				wantError(t, r, 401, "Unauthorized")
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate header")
				}
			})
		}
	}
	// The refused writes changed nothing.
	e.must(200, "GET", "/api/v1/load_balancers/web", nil)
	e.must(200, "GET", "/api/v1/target_groups/app", nil)

	r := doAs(t, e.api, "", "GET", "/healthz", nil)
	if r.status != 200 || r.body["status"] != "ok" {
		t.Errorf("/healthz without a token: %s", r)
	}
}

// TestEmptyToken checks that a handler configured without a token refuses
// every request instead of accepting an empty one.
func TestEmptyToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	srv := httptest.NewServer(api.New(api.Options{Plane: e.plane, Runtime: e.srv}))
	defer srv.Close()
	for _, h := range []string{"", "Bearer ", "Bearer"} {
		r := doAs(t, srv, "", "GET", "/api/v1/load_balancers", nil, "Authorization", h)
		wantError(t, r, 401, "Unauthorized")
	}
}

// TestUnknownRoutes checks the JSON 404 and 405 answers.
func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	wantError(t, e.do("GET", "/api/v1/nothing-here", nil), 404, "NotFound")
	wantError(t, e.do("GET", "/api/v2/load_balancers", nil), 404, "NotFound")
	r := e.do("PUT", "/api/v1/load_balancers/web", `{}`)
	wantError(t, r, 405, "MethodNotAllowed")
	if allow := r.header.Get("Allow"); allow == "" {
		t.Error("405 without Allow header")
	}
	wantError(t, e.do("DELETE", "/api/v1/load_balancers", nil), 405, "MethodNotAllowed")
	wantError(t, e.do("POST", "/api/v1/export", `{}`), 405, "MethodNotAllowed")
}
