package api_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenerPortChange moves a listener with PATCH: the new port serves,
// the old one stops accepting, and the listener and its rules change IDs.
func TestListenerPortChange(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := newBackend(t, "b1")
	oldPort, newPort := freePort(t), freePort(t)
	e.webSetup(oldPort, b)
	oldID, newID := fmt.Sprintf("web:%d", oldPort), fmt.Sprintf("web:%d", newPort)
	e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": oldID, "name": "chat", "priority": 10,
		"conditions": pathIs("/chat"), "actions": fixed("chat")})
	waitBody(t, lbURL(oldPort, "/"), "b1")

	// A port another process holds is refused and the listener stays.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	wantError(t, e.do("PATCH", "/api/v1/listeners/"+oldID, map[string]any{"port": ln.Addr().(*net.TCPAddr).Port}), 409, "PortInUse")
	waitBody(t, lbURL(oldPort, "/"), "b1")
	e.must(200, "GET", "/api/v1/listeners/"+oldID, nil)

	r := e.must(200, "PATCH", "/api/v1/listeners/"+oldID, map[string]any{"port": newPort})
	wantFields(t, r.body, map[string]any{"id": newID, "port": newPort, "rule_ids": []string{newID + ":chat"}})
	if r.header.Get("ETag") == "" {
		t.Error("no ETag")
	}
	waitBody(t, lbURL(newPort, "/"), "b1")
	waitBody(t, lbURL(newPort, "/chat"), "chat")
	waitFor(t, 5*time.Second, "the old port to stop accepting", func() bool { return !accepts(oldPort) })

	wantError(t, e.do("GET", "/api/v1/listeners/"+oldID, nil), 404, "NotFound")
	wantError(t, e.do("GET", "/api/v1/rules/"+oldID+":chat", nil), 404, "NotFound")
	e.must(200, "GET", "/api/v1/listeners/"+newID, nil)
	e.must(200, "GET", "/api/v1/rules/"+newID+":chat", nil)
	wantFields(t, e.must(200, "GET", "/api/v1/load_balancers/web", nil).body, map[string]any{"listeners": []string{newID}})
}

// TestPersistence restarts sluice on the same data dir: what the API
// created comes back from the store and serves.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	c, k, serial := selfSigned(t, "app.test")
	b1, b2 := newBackend(t, "b1"), newBackend(t, "b2")
	port, tlsPort := freePort(t), freePort(t)
	cfg, v := newFileEnvVars(t)
	opts := envOptions{dataDir: dir, bolt: true, config: cfg}
	e := newEnv(t, opts)
	e.webSetup(port, b1)
	e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "site", "certificate": c, "private_key": k})
	e.must(201, "POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTPS", "port": tlsPort,
		"address": "127.0.0.1", "certificates": []string{"site"}, "default_actions": forwardTo("app")})
	e.must(201, "POST", "/api/v1/rules", map[string]any{"listener": fmt.Sprintf("web:%d", port), "priority": 10,
		"conditions": pathIs("/chat"), "actions": fixed("chat")})
	// A target registered through the API in the file's group.
	e.must(200, "POST", "/api/v1/target_groups/filetg/targets", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": b2.port}}})
	waitBody(t, lbURL(port, "/"), "b1")
	views := map[string]string{}
	paths := []string{"/api/v1/load_balancers", "/api/v1/listeners", "/api/v1/rules", "/api/v1/target_groups",
		"/api/v1/target_groups/filetg/targets", "/api/v1/export"}
	for _, p := range paths {
		views[p] = string(e.must(200, "GET", p, nil).raw)
	}
	e.stop()
	if accepts(port) {
		t.Fatal("the listener still accepts after shutdown")
	}

	opts.config, opts.file = "", e.file
	e2 := newEnv(t, opts)
	for _, p := range paths {
		if got := string(e2.must(200, "GET", p, nil).raw); got != views[p] {
			t.Errorf("GET %s after the restart:\n%s\nbefore:\n%s", p, got, views[p])
		}
	}
	waitBody(t, lbURL(port, "/"), "b1")
	waitBody(t, lbURL(port, "/chat"), "chat")
	if got := leafSerial(t, tlsPort, "app.test"); got.Cmp(serial) != 0 {
		t.Errorf("TLS serial %x, want %x", got, serial)
	}
	seen := map[string]bool{}
	waitFor(t, 5*time.Second, "both targets of filetg", func() bool {
		if _, body, err := get(lbURL(v.Port, "/")); err == nil {
			seen[body] = true
		}
		return seen["file"] && seen["b2"]
	})
}

// TestDrainingHealth deregisters a target: describe-target-health shows it
// draining with the time left, then it is gone.
func TestDrainingHealth(t *testing.T) {
	e := newEnv(t, envOptions{})
	b1, b2 := newBackend(t, "b1"), newBackend(t, "b2")
	port := freePort(t)
	e.webSetup(port, b1, b2)
	e.must(200, "PATCH", "/api/v1/target_groups/app/attributes", map[string]any{"deregistration_delay": "1s"})
	health := func() map[int]map[string]any {
		out := map[int]map[string]any{}
		for _, d := range e.must(200, "GET", "/api/v1/target_groups/app/health", nil).list("target_health_descriptions") {
			out[int(d["target"].(map[string]any)["port"].(float64))] = d
		}
		return out
	}
	if h := health(); len(h) != 2 || h[b2.port]["draining"] != nil {
		t.Fatalf("health before: %v", h)
	}
	start := time.Now()
	e.must(200, "POST", "/api/v1/target_groups/app/targets/deregister", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": b2.port}}})
	d := health()[b2.port]
	if d == nil {
		t.Fatalf("deregistered target not shown: %v", health())
	}
	wantFields(t, d, map[string]any{"target_health.state": "draining", "target_health.reason": "Target.DeregistrationInProgress",
		"managed_by": "api", "health_check_port": fmt.Sprint(b2.port), "draining.open_connections": 0})
	// Rounded up: 1 until the second is over.
	left, ok := lookup(d, "draining.seconds_left").(float64)
	if !ok || left < 0 || left > 1 || (left != 1 && time.Since(start) < 900*time.Millisecond) {
		t.Errorf("draining.seconds_left = %v, want 1", lookup(d, "draining.seconds_left"))
	}
	if h := health()[b1.port]; h["draining"] != nil || lookup(h, "target_health.state") == "draining" {
		t.Errorf("the registered target: %v", h)
	}
	for range 5 {
		waitBody(t, lbURL(port, "/"), "b1")
	}
	waitFor(t, 3*time.Second, "the drained target to disappear", func() bool { return health()[b2.port] == nil })
	if time.Since(start) < 900*time.Millisecond {
		t.Errorf("drained after %v, before the 1s delay", time.Since(start))
	}
	wantFields(t, e.must(200, "GET", "/api/v1/target_groups/app", nil).body, map[string]any{"registered_targets": 1})

	// With no delay the target goes at once.
	e.must(200, "PATCH", "/api/v1/target_groups/app/attributes", map[string]any{"deregistration_delay": "0s"})
	e.must(200, "POST", "/api/v1/target_groups/app/targets/deregister", map[string]any{"targets": []any{map[string]any{"id": "127.0.0.1", "port": b1.port}}})
	waitFor(t, time.Second, "the target to disappear", func() bool { return len(health()) == 0 })
	wantError(t, e.do("GET", "/api/v1/target_groups/nope/health", nil), 404, "NotFound")
}

// TestImportedCertificate serves an imported certificate on an HTTPS
// listener created through the API, and a re-imported one from the next
// handshake.
func TestImportedCertificate(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := newBackend(t, "b1")
	e.webSetup(freePort(t), b)
	certA, keyA, serialA := selfSigned(t, "app.test")
	certB, keyB, serialB := selfSigned(t, "app.test", "www.app.test")
	r := e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "site", "certificate": certA, "private_key": keyA})
	wantFields(t, r.body, map[string]any{"serial": serialA.Text(16), "subject": "CN=app.test", "key_algorithm": "EC_P_256", "status": "ISSUED"})
	if _, ok := r.body["private_key"]; ok {
		t.Error("the view shows the private key")
	}
	port := freePort(t)
	e.must(201, "POST", "/api/v1/listeners", map[string]any{"load_balancer": "web", "protocol": "HTTPS", "port": port,
		"address": "127.0.0.1", "certificates": []string{"site"}, "default_actions": forwardTo("app")})
	if got := leafSerial(t, port, "app.test"); got.Cmp(serialA) != 0 {
		t.Errorf("serving serial %x, want %x", got, serialA)
	}
	if body := httpsGet(t, port, "app.test"); body != "b1" {
		t.Errorf("HTTPS request answered %q", body)
	}
	wantFields(t, e.must(200, "GET", "/api/v1/certificates/site", nil).body, map[string]any{"in_use_by": []string{fmt.Sprintf("web:%d", port)}})

	r = e.must(200, "PUT", "/api/v1/certificates/site", map[string]any{"certificate": certB, "private_key": keyB})
	wantFields(t, r.body, map[string]any{"serial": serialB.Text(16), "sans": []string{"app.test", "www.app.test"}})
	if got := leafSerial(t, port, "app.test"); got.Cmp(serialB) != 0 {
		t.Errorf("after re-import: serving serial %x, want %x", got, serialB)
	}

	// A key of another certificate is refused and the old import stays.
	_, keyC, _ := selfSigned(t, "app.test")
	r = e.do("PUT", "/api/v1/certificates/site", map[string]any{"certificate": certA, "private_key": keyC})
	wantError(t, r, 400, "ValidationError")
	if f := r.fields(); len(f) == 0 || f[0]["field"] != "private_key" {
		t.Errorf("fields: %s", r)
	}
	if got := leafSerial(t, port, "app.test"); got.Cmp(serialB) != 0 {
		t.Errorf("after a refused import: serving serial %x, want %x", got, serialB)
	}
	wantError(t, e.do("POST", "/api/v1/certificates/site/renew", nil), 400, "ValidationError")
	wantError(t, e.do("PUT", "/api/v1/certificates/nope", map[string]any{"certificate": certA, "private_key": keyA}), 404, "NotFound")
	wantError(t, e.do("PUT", "/api/v1/certificates/site", map[string]any{"name": "other", "certificate": certA, "private_key": keyA}), 400, "ValidationError")
}

// leafSerial handshakes with the listener on port and returns the serial
// of the certificate it serves for serverName.
func leafSerial(t *testing.T, port int, serverName string) *big.Int {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}

// chainLen handshakes with the listener on port and returns how many
// certificates it sends for serverName.
func chainLen(t *testing.T, port int, serverName string) int {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer c.Close()
	return len(c.ConnectionState().PeerCertificates)
}

// httpsGet sends GET / over HTTPS to the listener on port.
func httpsGet(t *testing.T, port int, serverName string) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: serverName, InsecureSkipVerify: true}, DisableKeepAlives: true,
		DialContext: (&net.Dialer{}).DialContext}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://127.0.0.1:%d/", port), nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestRenew starts renewing a local CA certificate, and explains why
// certificates from files are not renewed by sluice.
func TestRenew(t *testing.T) {
	e, _ := newFileEnv(t)
	e.must(201, "POST", "/api/v1/certificates", map[string]any{"name": "dev", "source": "internal", "domains": []string{"dev.test"}})
	r := e.must(202, "POST", "/api/v1/certificates/dev/renew", nil)
	if r.body["status"] == nil {
		t.Errorf("renew: %s", r)
	}
	// The renewal runs in the background, and server shutdown does not
	// wait for it: wait for its last word before the data dir goes.
	waitFor(t, 10*time.Second, "the renewal", func() bool {
		return strings.Contains(e.logs.String(), "renewed on request") || strings.Contains(e.logs.String(), "renewal on request failed")
	})
	r = e.do("POST", "/api/v1/certificates/filecert/renew", nil)
	wantError(t, r, 400, "ValidationError")
	if !strings.Contains(r.errMessage(), "files") {
		t.Errorf("renew of a file certificate: %s", r)
	}
	wantError(t, e.do("POST", "/api/v1/certificates/nope/renew", nil), 404, "NotFound")
}
