package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTargetKinds forwards to a target named by host name, to an HTTPS
// target with a certificate nobody trusts (ALB does not verify), and to an
// HTTP/2 (h2c) target.
func TestTargetKinds(t *testing.T) {
	plain := newBackend(t, "plain", nil)
	tlsT := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "tls "+r.Proto)
	}))
	t.Cleanup(tlsT.Close)
	tlsPort := tlsT.Listener.Addr().(*net.TCPAddr).Port

	h2ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	h2srv := &http.Server{Protocols: &protos, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "h2c "+r.Proto)
	})}
	go h2srv.Serve(h2ln)
	t.Cleanup(func() { h2srv.Close() })

	v := newVars(t, 2)
	v["Plain"], v["TLS"], v["H2"] = plain.port, tlsPort, h2ln.Addr().(*net.TCPAddr).Port
	start(t, render(t, `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/tls"] }]
            actions: [{ type: forward, target_group: tls }]
        default_actions: [{ type: forward, target_group: byname }]
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [c]
        default_actions: [{ type: forward, target_group: h2 }]
target_groups:
  - name: byname
    protocol: HTTP
    port: {{.Plain}}
    targets: [{ id: localhost }]
    health_check: { enabled: false }
  - name: tls
    protocol: HTTPS
    port: {{.TLS}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
  - name: h2
    protocol: HTTP
    protocol_version: HTTP2
    port: {{.H2}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
certificates:
  - { name: c, cert_file: "{{.Cert}}", key_file: "{{.Key}}" }
`, v))
	c := client()
	if _, body := get(t, c, fmt.Sprintf("http://127.0.0.1:%d/", v["P1"])); body != "plain" {
		t.Errorf("host-name target: %q", body)
	}
	if _, body := get(t, c, fmt.Sprintf("http://127.0.0.1:%d/tls", v["P1"])); body != "tls HTTP/1.1" {
		t.Errorf("HTTPS target: %q", body)
	}
	// An HTTP2 group takes HTTP/2 requests only (ALB's 464 otherwise).
	if resp, _ := get(t, c, fmt.Sprintf("https://127.0.0.1:%d/", v["P2"])); resp.StatusCode != 464 {
		t.Errorf("HTTP/1.1 to an HTTP2 group: %d, want 464", resp.StatusCode)
	}
	var only2 http.Protocols
	only2.SetHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &only2, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, body := get(t, h2c, fmt.Sprintf("https://127.0.0.1:%d/", v["P2"]))
	if resp.ProtoMajor != 2 || !strings.HasPrefix(body, "h2c HTTP/2") {
		t.Errorf("HTTP/2 to an h2c target: %s %q", resp.Proto, body)
	}
}
