package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// headersCfg has one load balancer per attribute combination, all in front
// of the same echo target:
//
//	P1 HTTP, P2 HTTPS: append, drop_invalid_header_fields
//	P3 HTTP: preserve, preserve_host_header
//	P4 HTTP: remove
//	P5 HTTP: append with xff_client_port
//	P6 HTTPS: http2_enabled false
const headersCfg = `version: 1
load_balancers:
  - name: append
    drop_invalid_header_fields: true
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: echo }]
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: forward, target_group: echo }]
  - name: preserve
    xff_header_processing: preserve
    preserve_host_header: true
    listeners:
      - protocol: HTTP
        port: {{.P3}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: echo }]
  - name: remove
    xff_header_processing: remove
    listeners:
      - protocol: HTTP
        port: {{.P4}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: echo }]
  - name: clientport
    xff_client_port: true
    listeners:
      - protocol: HTTP
        port: {{.P5}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: echo }]
  - name: noh2
    http2_enabled: false
    listeners:
      - protocol: HTTPS
        port: {{.P6}}
        address: 127.0.0.1
        certificates: [site]
        default_actions: [{ type: forward, target_group: echo }]
target_groups:
  - name: echo
    protocol: HTTP
    port: {{.B1}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
certificates:
  - name: site
    cert_file: {{.Cert}}
    key_file: {{.Key}}
`

// hdrEcho is what the echo target saw.
type hdrEcho struct {
	Proto  string
	Host   string
	TLS    bool
	Header http.Header
}

// has reports whether the target saw a header named name, compared
// case-insensitively (so that names net/http does not canonicalise, like
// X_Bad, are found too).
func (e hdrEcho) has(name string) bool {
	for k := range e.Header {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func headersEnv(t *testing.T) vars {
	t.Helper()
	b := newBackend(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(hdrEcho{Proto: r.Proto, Host: r.Host, TLS: r.TLS != nil, Header: r.Header})
	})
	v := newVars(t, 6)
	v["B1"] = b.port
	e := start(t, render(t, headersCfg, v))
	e.waitHealthy("echo", 1)
	return v
}

// hdrGet sends a GET through c and decodes what the target saw.
func hdrGet(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, hdrEcho) {
	t.Helper()
	resp, body := get(t, c, url, hdr...)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, body)
	}
	var got hdrEcho
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return resp, got
}

// hdrRaw parses a raw response text from the echo target.
func hdrRaw(t *testing.T, text string) hdrEcho {
	t.Helper()
	resp := parseRaw(t, text)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %q", resp.StatusCode, body)
	}
	var got hdrEcho
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return got
}

func TestHeadersForwarded(t *testing.T) {
	t.Parallel()
	v := headersEnv(t)
	url := func(p string) string { return fmt.Sprintf("http://127.0.0.1:%d/", v[p]) }
	c := client()

	t.Run("X-Forwarded-For", func(t *testing.T) {
		cases := []struct {
			name, port string
			in         []string
			want       []string // nil: absent
		}{
			{"append to incoming", "P1", []string{"1.2.3.4"}, []string{"1.2.3.4, 127.0.0.1"}},
			{"append to several", "P1", []string{"1.2.3.4", "5.6.7.8"}, []string{"1.2.3.4, 5.6.7.8, 127.0.0.1"}},
			{"append without incoming", "P1", nil, []string{"127.0.0.1"}},
			{"preserve", "P3", []string{"1.2.3.4"}, []string{"1.2.3.4"}},
			{"preserve without incoming", "P3", nil, nil},
			{"remove", "P4", []string{"1.2.3.4"}, nil},
			{"remove without incoming", "P4", nil, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var hdr []string
				for _, x := range tc.in {
					hdr = append(hdr, "X-Forwarded-For", x)
				}
				_, got := hdrGet(t, c, url(tc.port), hdr...)
				if g := got.Header.Values("X-Forwarded-For"); fmt.Sprint(g) != fmt.Sprint(tc.want) {
					t.Errorf("X-Forwarded-For %q, want %q", g, tc.want)
				}
			})
		}
	})

	t.Run("xff_client_port", func(t *testing.T) {
		local := make(chan string, 1)
		d := &net.Dialer{Timeout: 5 * time.Second}
		cp := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := d.DialContext(ctx, network, addr)
				if err == nil {
					local <- conn.LocalAddr().String()
				}
				return conn, err
			},
		}}
		_, got := hdrGet(t, cp, url("P5"), "X-Forwarded-For", "1.2.3.4")
		want := "1.2.3.4, " + <-local
		if g := got.Header.Get("X-Forwarded-For"); g != want {
			t.Errorf("X-Forwarded-For %q, want %q", g, want)
		}
	})

	t.Run("X-Forwarded-Proto and Port", func(t *testing.T) {
		for _, tc := range []struct{ url, proto, port string }{
			{url("P1"), "http", fmt.Sprint(v["P1"])},
			{fmt.Sprintf("https://127.0.0.1:%d/", v["P2"]), "https", fmt.Sprint(v["P2"])},
		} {
			_, got := hdrGet(t, c, tc.url, "X-Forwarded-Proto", "spoofed", "X-Forwarded-Port", "1")
			if g := got.Header.Values("X-Forwarded-Proto"); len(g) != 1 || g[0] != tc.proto {
				t.Errorf("%s: X-Forwarded-Proto %q, want %q", tc.url, g, tc.proto)
			}
			if g := got.Header.Values("X-Forwarded-Port"); len(g) != 1 || g[0] != tc.port {
				t.Errorf("%s: X-Forwarded-Port %q, want %q", tc.url, g, tc.port)
			}
			if got.TLS {
				t.Errorf("%s: target saw TLS, want plain HTTP", tc.url)
			}
		}
	})

	t.Run("Host", func(t *testing.T) {
		cases := []struct{ name, port, in, want string }{
			{"port appended", "P1", "example.com", fmt.Sprintf("example.com:%d", v["P1"])},
			{"port kept", "P1", "example.com:8080", "example.com:8080"},
			{"preserve_host_header", "P3", "example.com", "example.com"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if _, got := hdrGet(t, c, url(tc.port), "Host", tc.in); got.Host != tc.want {
					t.Errorf("Host %q, want %q", got.Host, tc.want)
				}
			})
		}
	})

	t.Run("X-Amzn-Trace-Id", func(t *testing.T) {
		_, got := hdrGet(t, c, url("P1"))
		if id := got.Header.Get("X-Amzn-Trace-Id"); !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(id) {
			t.Errorf("new trace id %q, want Root=1-<8 hex>-<24 hex>", id)
		}
		const in = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
		_, got = hdrGet(t, c, url("P1"), "X-Amzn-Trace-Id", in)
		id := got.Header.Get("X-Amzn-Trace-Id")
		if !regexp.MustCompile(`^Self=1-[0-9a-f]{8}-[0-9a-f]{24};` + regexp.QuoteMeta(in) + `$`).MatchString(id) {
			t.Errorf("trace id %q, want Self=1-<8 hex>-<24 hex>;%s", id, in)
		}
	})

	t.Run("hop-by-hop headers not forwarded", func(t *testing.T) {
		_, text := rawRequest(t, fmt.Sprintf("127.0.0.1:%d", v["P1"]), "GET / HTTP/1.1\r\nHost: x\r\n"+
			"Connection: close, X-Foo\r\nX-Foo: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"+
			"Upgrade-Insecure-Requests: 1\r\nX-Kept: yes\r\n\r\n")
		got := hdrRaw(t, text)
		for _, h := range []string{"X-Foo", "Keep-Alive", "Proxy-Connection"} {
			if got.has(h) {
				t.Errorf("target got hop-by-hop header %s: %q", h, got.Header.Values(h))
			}
		}
		if strings.Contains(got.Header.Get("Connection"), "X-Foo") {
			t.Errorf("target got Connection %q", got.Header.Get("Connection"))
		}
		if got.Header.Get("X-Kept") != "yes" || got.Header.Get("Upgrade-Insecure-Requests") != "1" {
			t.Errorf("end-to-end headers lost: %v", got.Header)
		}
	})

	t.Run("drop_invalid_header_fields", func(t *testing.T) {
		for _, tc := range []struct {
			port string
			kept bool
		}{{"P1", false}, {"P3", true}} {
			_, got := hdrGet(t, c, url(tc.port), "X_Bad", "1", "X-Good", "1")
			if got.has("X_Bad") != tc.kept {
				t.Errorf("%s: target got X_Bad %v, want %v", tc.port, got.has("X_Bad"), tc.kept)
			}
			if !got.has("X-Good") {
				t.Errorf("%s: X-Good dropped", tc.port)
			}
		}
	})

	t.Run("HTTP/1.0 keep-alive", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", v["P1"]), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		for i := 0; i < 2; i++ {
			if _, err := io.WriteString(conn, "GET /n"+fmt.Sprint(i)+" HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d on the kept-alive connection: %v", i, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("response %d: %d %v", i, resp.StatusCode, err)
			}
			if resp.Close {
				t.Fatalf("response %d closes the connection despite keep-alive", i)
			}
			var got hdrEcho
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Proto != "HTTP/1.1" {
				t.Errorf("target saw %s, want HTTP/1.1", got.Proto)
			}
		}
	})

	t.Run("HTTP/2 to the client, HTTP/1.1 to the target", func(t *testing.T) {
		h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			ForceAttemptHTTP2: true,
		}}
		resp, got := hdrGet(t, h2, fmt.Sprintf("https://127.0.0.1:%d/", v["P2"]))
		if resp.ProtoMajor != 2 {
			t.Errorf("client got %s, want HTTP/2", resp.Proto)
		}
		if got.Proto != "HTTP/1.1" {
			t.Errorf("target saw %s, want HTTP/1.1", got.Proto)
		}
		if got.Host != fmt.Sprintf("127.0.0.1:%d", v["P2"]) {
			t.Errorf("target saw Host %q from the :authority", got.Host)
		}
		resp, _ = hdrGet(t, h2, fmt.Sprintf("https://127.0.0.1:%d/", v["P6"]))
		if resp.ProtoMajor != 1 {
			t.Errorf("http2_enabled false: client got %s, want HTTP/1.1", resp.Proto)
		}
	})
}
