package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluicelb/sluice/internal/accesslog"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/server"
)

// observeCfg is one load balancer (obs) whose rules reach every kind of
// outcome, logging in ALB's format, and a second (obsjson) logging JSON.
// The idle timeout of 1s (ALB's minimum) makes the 504 quick.
const observeCfg = `version: 1
load_balancers:
  - name: obs
    idle_timeout: 1s
    access_logs: { path: {{.Log}}, format: alb }
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/redirect"] }]
            actions: [{ type: redirect, redirect: { protocol: HTTPS, port: "443", status_code: HTTP_301 } }]
          - priority: 2
            conditions: [{ field: path-pattern, values: ["/fixed"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", content_type: text/plain, message_body: "fixed" } }]
          - priority: 3
            conditions: [{ field: path-pattern, values: ["/empty"] }]
            actions: [{ type: forward, target_group: empty }]
          - priority: 4
            conditions: [{ field: path-pattern, values: ["/close"] }]
            actions: [{ type: forward, target_group: closer }]
          - priority: 5
            conditions: [{ field: path-pattern, values: ["/refused"] }]
            actions: [{ type: forward, target_group: dead }]
        default_actions: [{ type: forward, target_group: good }]
  - name: obsjson
    access_logs: { path: {{.JSONLog}}, format: json }
    listeners:
      - protocol: HTTP
        port: {{.P2}}
        address: 127.0.0.1
        rules:
          - priority: 7
            conditions: [{ field: path-pattern, values: ["/fixed"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "404", message_body: "nope" } }]
        default_actions: [{ type: forward, target_group: good2 }]
target_groups:
  - name: good
    protocol: HTTP
    port: {{.Good}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
  - name: good2
    protocol: HTTP
    port: {{.Good}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2 }
  - name: closer
    protocol: HTTP
    port: {{.Closer}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
  - name: dead
    protocol: HTTP
    port: {{.Dead}}
    targets: [{ id: 127.0.0.1 }]
    health_check: { enabled: false }
  - name: empty
    protocol: HTTP
    port: {{.Good}}
    targets: []
`

// obsCase is one scripted request to the obs load balancer and what its
// access log line must hold. The path is unique per case and finds the line.
type obsCase struct {
	name, path string
	// raw is the request sent on its own connection; empty for the
	// WebSocket, which has its own client.
	raw    string
	status int
	// Expected fields; "" means "-".
	target, group, targetStatus, actions, redirect, reason, class, classReason string
	// prio is the matched rule priority ("-" for none).
	prio string
	// times is which of the three processing times are measured: 3 all,
	// 1 request_processing_time only, 0 none (all -1).
	times int
	// evaluated is how many rules the router evaluated.
	evaluated int
	// netHTTPAnswers marks requests net/http refuses itself, before any
	// handler: with -engine nethttp they are neither logged nor counted.
	netHTTPAnswers bool
	ua             string

	// Filled when sent: the client's address as sluice saw it, the bytes
	// written and read, and the response body's length.
	client     string
	wrote      int64
	read, body int64
}

// TestObserveTrafficMetricsAndAccessLog sends every kind of request ALB
// distinguishes through one load balancer, then checks the exact counters
// of a real scrape and every field of every access log line.
func TestObserveTrafficMetricsAndAccessLog(t *testing.T) {
	t.Parallel()
	netHTTP := *engineFlag == "nethttp"
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseSlow := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseSlow)
	var traces sync.Map // path → X-Amzn-Trace-Id the target saw
	good := newBackend(t, "good", func(w http.ResponseWriter, r *http.Request) {
		traces.Store(r.URL.Path, r.Header.Get("X-Amzn-Trace-Id"))
		switch r.URL.Path {
		case "/e500":
			w.WriteHeader(500)
			io.WriteString(w, "broken")
		case "/e503":
			w.WriteHeader(503)
			io.WriteString(w, "busy")
		case "/slow":
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
			io.WriteString(w, "too late")
		case "/ws":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			for {
				typ, msg, err := c.Read(context.Background())
				if err != nil {
					return
				}
				if err := c.Write(context.Background(), typ, msg); err != nil {
					return
				}
			}
		default:
			io.WriteString(w, "ok")
		}
	})
	dir := t.TempDir()
	v := newVars(t, 2)
	v["Good"], v["Closer"], v["Dead"] = good.port, newCloser(t), freePort(t)
	v["Log"], v["JSONLog"] = filepath.Join(dir, "access.log"), filepath.Join(dir, "access.json")
	e := start(t, render(t, observeCfg, v))
	e.waitHealthy("good", 1)
	e.waitHealthy("good2", 1)
	begin := time.Now()

	addr := fmt.Sprintf("127.0.0.1:%d", v["P1"])
	goodT := fmt.Sprintf("127.0.0.1:%d", good.port)
	closerT := fmt.Sprintf("127.0.0.1:%d", v["Closer"])
	deadT := fmt.Sprintf("127.0.0.1:%d", v["Dead"])
	const rules = 5 // the listener's rule count, all evaluated before the default
	get := func(path, ua string, extra ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: " + ua + "\r\n" +
			strings.Join(extra, "") + "Connection: close\r\n\r\n"
	}
	cases := []*obsCase{
		// First, on a fresh target connection: see TestObserveTimeoutNotResent.
		{name: "504 target slower than the idle timeout", path: "/slow", status: 504, target: goodT, group: "good",
			actions: "forward", prio: "0", times: 1, evaluated: rules, reason: "TargetResponseTimeout", ua: "obs/slow"},
		{name: "200 from target", path: "/ok1", status: 200, target: goodT, group: "good", targetStatus: "200",
			actions: "forward", prio: "0", times: 3, evaluated: rules, ua: "obs/ok1"},
		{name: "200 again", path: "/ok2", status: 200, target: goodT, group: "good", targetStatus: "200",
			actions: "forward", prio: "0", times: 3, evaluated: rules, ua: "obs/ok2"},
		{name: "acceptable GET with Content-Length 0", path: "/acceptable", status: 200, target: goodT, group: "good", targetStatus: "200",
			actions: "forward", prio: "0", times: 3, evaluated: rules, ua: "obs/acc",
			class: "Acceptable", classReason: "GetHeadZeroContentLength"},
		{name: "target 500", path: "/e500", status: 500, target: goodT, group: "good", targetStatus: "500",
			actions: "forward", prio: "0", times: 3, evaluated: rules, ua: "obs/500"},
		{name: "target 503", path: "/e503", status: 503, target: goodT, group: "good", targetStatus: "503",
			actions: "forward", prio: "0", times: 3, evaluated: rules, ua: "obs/503"},
		{name: "502 target closes without answering", path: "/close", status: 502, target: closerT, group: "closer",
			actions: "forward", prio: "4", times: 0, evaluated: 4, reason: "TargetResponseError", ua: "obs/close"},
		{name: "502 target refuses connections", path: "/refused", status: 502, target: deadT, group: "dead",
			actions: "forward", prio: "5", times: 0, evaluated: 5, reason: "TargetConnectionError", ua: "obs/refused"},
		{name: "503 no registered targets", path: "/empty", status: 503, group: "empty",
			actions: "forward", prio: "3", times: 0, evaluated: 3, reason: "NoRegisteredTargets", ua: "obs/empty"},
		{name: "redirect", path: "/redirect", status: 301, actions: "redirect", prio: "1", times: 0, evaluated: 1,
			redirect: "https://127.0.0.1/redirect", ua: "obs/redirect"},
		{name: "fixed response", path: "/fixed", status: 200, actions: "fixed-response", prio: "2", times: 0, evaluated: 2,
			ua: "obs/fixed"},
		{name: "websocket", path: "/ws", status: 101, target: goodT, group: "good", targetStatus: "101",
			actions: "forward", prio: "0", times: 3, evaluated: rules, ua: "obs/ws"},
		{name: "400 severe desync (two Content-Lengths)", path: "/bad", status: 400, prio: "", times: 0,
			reason: "DesyncMitigation", class: "Severe", classReason: "MultipleContentLength", ua: "obs/bad", netHTTPAnswers: true},
	}
	for _, c := range cases {
		switch c.path {
		case "/acceptable":
			c.raw = get(c.path, c.ua, "Content-Length: 0\r\n")
		case "/bad":
			c.raw = get(c.path, c.ua, "Content-Length: 1\r\n", "Content-Length: 2\r\n")
		case "/ws":
		default:
			c.raw = get(c.path, c.ua)
		}
	}

	for _, c := range cases {
		if c.raw == "" {
			wsExchange(t, fmt.Sprintf("ws://%s%s", addr, c.path), c)
			continue
		}
		code, text := c.send(t, addr)
		if code != c.status {
			t.Fatalf("%s: status %d, want %d; response:\n%.300s", c.name, code, c.status, text)
		}
		if c.path == "/slow" {
			releaseSlow()
		}
	}

	// The JSON load balancer: a forward and a fixed 404.
	addr2 := fmt.Sprintf("127.0.0.1:%d", v["P2"])
	jsonCases := []*obsCase{
		{name: "json forward", path: "/j", status: 200, target: goodT, group: "good2", targetStatus: "200",
			actions: "forward", prio: "0", times: 3, evaluated: 1, ua: "obs/json"},
		{name: "json fixed 404", path: "/fixed", status: 404, actions: "fixed-response", prio: "7", times: 0, evaluated: 1,
			ua: "obs/json-fixed"},
	}
	for _, c := range jsonCases {
		c.raw = "GET " + c.path + " HTTP/1.1\r\nHost: " + addr2 + "\r\nUser-Agent: " + c.ua + "\r\nConnection: close\r\n\r\n"
		if code, text := c.send(t, addr2); code != c.status {
			t.Fatalf("%s: status %d, want %d; response:\n%.300s", c.name, code, c.status, text)
		}
	}

	// A request that never parses (more than 16 KiB of empty lines before
	// its request line): sluice answers 400 and logs "- - -".
	garbage := &obsCase{name: "unparseable request", raw: strings.Repeat("\r\n", 8<<10+1) + "GET / HTTP/1.1\r\n\r\n",
		status: 400, prio: "", times: 0, reason: "MalformedRequest", netHTTPAnswers: true}
	if code, text := garbage.send(t, addr); code != 400 {
		t.Fatalf("unparseable: status %d, want 400; response:\n%.300s", code, text)
	}
	cases = append(cases, garbage)

	logged := cases
	if netHTTP {
		logged = slices.DeleteFunc(slices.Clone(cases), func(c *obsCase) bool { return c.netHTTPAnswers })
	}
	lines := waitLines(t, v["Log"].(string), len(logged))
	end := time.Now()

	t.Run("access log", func(t *testing.T) {
		byPath := map[string]map[string]string{}
		for i, line := range lines {
			f, err := accesslog.ParseALB(line)
			if err != nil {
				t.Fatalf("line %d: %v\n%s", i+1, err, line)
			}
			p := requestPath(f["request"])
			if byPath[p] != nil {
				t.Fatalf("two lines for %q:\n%s", p, strings.Join(lines, ""))
			}
			byPath[p] = f
		}
		for _, c := range logged {
			key := c.path
			if c == garbage {
				key = "-"
			}
			f := byPath[key]
			if f == nil {
				t.Errorf("%s: no line; have %v", c.name, mapKeys(byPath))
				continue
			}
			c.check(t, f, "obs", addr, begin, end, netHTTP, &traces)
		}
	})

	t.Run("json access log", func(t *testing.T) {
		jl := waitLines(t, v["JSONLog"].(string), len(jsonCases))
		wantKeys := make([]string, len(accesslog.ALBFields))
		for i, n := range accesslog.ALBFields {
			wantKeys[i] = strings.ReplaceAll(n, ":", "_")
		}
		for i, line := range jl {
			keys, m := jsonKeys(t, line)
			if !slices.Equal(keys, wantKeys) {
				t.Fatalf("line %d: keys %v, want %v", i+1, keys, wantKeys)
			}
			// The same values as the ALB format would hold, under ALB's names.
			f := map[string]string{}
			for j, n := range accesslog.ALBFields {
				f[n] = m[wantKeys[j]]
			}
			var c *obsCase
			for _, jc := range jsonCases {
				if requestPath(f["request"]) == jc.path {
					c = jc
				}
			}
			if c == nil {
				t.Fatalf("line %d is no request sent: %s", i+1, line)
			}
			c.check(t, f, "obsjson", addr2, begin, end, netHTTP, &traces)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		counted := len(logged)
		m := scrapeHandler(t, e.srv.Metrics())
		lb := []string{"load_balancer", "obs", "listener", fmt.Sprintf("obs:%d", v["P1"])}
		lbl := func(kv ...string) []string { return append(slices.Clone(lb), kv...) }
		m.want(t, "sluice_requests_total", lb, float64(counted))
		elb4xx := 0.0
		if !netHTTP {
			elb4xx = 2 // the severe desync and the garbage
		}
		for _, w := range []struct {
			origin, class string
			n             float64
		}{
			{"target", "2xx", 3}, {"target", "3xx", 0}, {"target", "4xx", 0}, {"target", "5xx", 2},
			{"elb", "2xx", 1}, {"elb", "3xx", 1}, {"elb", "4xx", elb4xx}, {"elb", "5xx", 4},
		} {
			m.want(t, "sluice_http_responses_total", lbl("origin", w.origin, "code_class", w.class), w.n)
		}
		for code, n := range map[string]float64{"400": elb4xx, "405": 0, "408": 0, "460": 0, "463": 0, "464": 0,
			"500": 0, "501": 0, "502": 2, "503": 1, "504": 1, "505": 0, "other": 0} {
			m.want(t, "sluice_elb_responses_total", lbl("code", code), n)
		}
		m.want(t, "sluice_redirects_total", lb, 1)
		m.want(t, "sluice_fixed_responses_total", lb, 1)
		evaluated := 0
		for _, c := range logged {
			evaluated += c.evaluated
		}
		m.want(t, "sluice_rule_evaluations_total", lb, float64(evaluated))
		m.wantHistogramCount(t, "sluice_request_duration_seconds", lb, uint64(counted))
		if netHTTP {
			// net/http refuses non-compliant requests itself or passes
			// them on unclassified.
			m.want(t, "sluice_desync_noncompliant_requests_total", lbl("classification", "Severe"), 0)
		} else {
			m.want(t, "sluice_desync_noncompliant_requests_total", lbl("classification", "Acceptable"), 1)
			m.want(t, "sluice_desync_noncompliant_requests_total", lbl("classification", "Ambiguous"), 0)
			m.want(t, "sluice_desync_noncompliant_requests_total", lbl("classification", "Severe"), 1)
		}
		// Every request and the WebSocket came on a connection of its own.
		if n := m.value(t, "sluice_new_connections_total", lb); n < float64(len(cases)) {
			t.Errorf("sluice_new_connections_total = %v, want at least %d", n, len(cases))
		}
		m.want(t, "sluice_rejected_connections_total", lb, 0)
		m.want(t, "sluice_client_tls_negotiation_errors_total", lb, 0)

		// ProcessedBytes is the sum of the logged bytes.
		var recv, sent float64
		for _, line := range lines {
			f, _ := accesslog.ParseALB(line)
			r, _ := strconv.ParseFloat(f["received_bytes"], 64)
			s, _ := strconv.ParseFloat(f["sent_bytes"], 64)
			recv, sent = recv+r, sent+s
		}
		m.want(t, "sluice_processed_bytes_total", lbl("direction", "received"), recv)
		m.want(t, "sluice_processed_bytes_total", lbl("direction", "sent"), sent)

		// Per target: health checks are not requests.
		tgt := func(group, target string) []string {
			return []string{"load_balancer", "obs", "target_group", group, "target", target}
		}
		m.want(t, "sluice_target_requests_total", tgt("good", goodT), 7)
		m.want(t, "sluice_target_requests_total", tgt("closer", closerT), 1)
		m.want(t, "sluice_target_requests_total", tgt("dead", deadT), 1)
		m.want(t, "sluice_target_requests_total", []string{"load_balancer", "obsjson", "target_group", "good2", "target", goodT}, 1)
		if n := good.count(); n != 8 {
			var paths []string
			good.mu.Lock()
			for _, r := range good.reqs {
				paths = append(paths, r.URL.Path)
			}
			good.mu.Unlock()
			t.Errorf("the good backend served %d requests besides health checks, want 8: %v", n, paths)
		}
		m.want(t, "sluice_target_connection_errors_total", tgt("good", goodT), 0)
		m.want(t, "sluice_target_connection_errors_total", tgt("closer", closerT), 0)
		m.want(t, "sluice_target_connection_errors_total", tgt("dead", deadT), 1)
		group := func(name string) []string { return []string{"load_balancer", "obs", "target_group", name} }
		// TargetResponseTime: the answers with headers (3 × 2xx, 2 × 5xx, 101).
		m.wantHistogramCount(t, "sluice_target_response_time_seconds", group("good"), 6)
		m.wantHistogramCount(t, "sluice_target_response_time_seconds", group("closer"), 0)
		m.wantHistogramCount(t, "sluice_target_response_time_seconds", group("dead"), 0)
		m.want(t, "sluice_target_http_responses_total", append(group("good"), "code_class", "2xx"), 3)
		m.want(t, "sluice_target_http_responses_total", append(group("good"), "code_class", "5xx"), 2)
		m.want(t, "sluice_target_http_responses_total", append(group("closer"), "code_class", "5xx"), 0)
		m.want(t, "sluice_healthy_targets", group("good"), 1)
		m.want(t, "sluice_unhealthy_targets", group("good"), 0)
		for _, g := range []string{"closer", "dead", "empty"} {
			m.want(t, "sluice_healthy_targets", group(g), 0) // checks disabled, or no targets
			m.want(t, "sluice_unhealthy_targets", group(g), 0)
		}
		m.want(t, "sluice_healthy_targets", []string{"load_balancer", "obsjson", "target_group", "good2"}, 1)

		// The JSON load balancer counts apart.
		lb2 := []string{"load_balancer", "obsjson", "listener", fmt.Sprintf("obsjson:%d", v["P2"])}
		m.want(t, "sluice_requests_total", lb2, 2)
		m.want(t, "sluice_http_responses_total", append(slices.Clone(lb2), "origin", "target", "code_class", "2xx"), 1)
		m.want(t, "sluice_http_responses_total", append(slices.Clone(lb2), "origin", "elb", "code_class", "4xx"), 1)
		m.want(t, "sluice_elb_responses_total", append(slices.Clone(lb2), "code", "other"), 1)
		m.want(t, "sluice_fixed_responses_total", lb2, 1)
		m.want(t, "sluice_access_log_dropped_total", nil, 0)

		// Every connection closed: none stays active.
		waitFor(t, 5*time.Second, "no active connections", func() bool {
			s := scrapeHandler(t, e.srv.Metrics())
			return s.value(t, "sluice_active_connections", lb) == 0 && s.value(t, "sluice_active_connections", lb2) == 0
		})
	})
}

// send writes c.raw on a connection of its own and reads the response until
// the load balancer closes it, noting the addresses and byte counts.
func (c *obsCase) send(t *testing.T, addr string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c.client = conn.LocalAddr().String()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, c.raw); err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(conn)
	c.wrote, c.read = int64(len(c.raw)), int64(len(out))
	s := string(out)
	code := 0
	if len(s) >= 12 {
		code, _ = strconv.Atoi(s[9:12])
	}
	if code != 0 {
		resp := parseRaw(t, s)
		body, _ := io.ReadAll(resp.Body)
		c.body = int64(len(body))
	}
	return code, s
}

// check compares one access log line, split into ALB's fields, with c.
func (c *obsCase) check(t *testing.T, f map[string]string, lb, addr string, begin, end time.Time, netHTTP bool, traces *sync.Map) {
	t.Helper()
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	eq := func(field, want string) {
		t.Helper()
		if f[field] != want {
			t.Errorf("%s: %s = %q, want %q", c.name, field, f[field], want)
		}
	}
	typ := "http"
	if c.status == 101 {
		typ = "ws"
	}
	eq("type", typ)
	eq("elb", lb)
	eq("client:port", c.client)
	eq("target:port", dash(c.target))
	eq("elb_status_code", strconv.Itoa(c.status))
	eq("target_status_code", dash(c.targetStatus))
	if c.path == "" { // never parsed
		eq("request", "- - -")
	} else {
		eq("request", "GET http://"+addr+c.path+" HTTP/1.1")
	}
	eq("user_agent", dash(c.ua))
	eq("ssl_cipher", "-")
	eq("ssl_protocol", "-")
	eq("target_group_arn", dash(c.group))
	eq("domain_name", "-")
	eq("chosen_cert_arn", "-")
	eq("matched_rule_priority", dash(c.prio))
	eq("actions_executed", dash(c.actions))
	eq("redirect_url", dash(c.redirect))
	eq("error_reason", dash(c.reason))
	eq("target:port_list", dash(c.target))
	eq("target_status_code_list", dash(c.targetStatus))
	if !netHTTP {
		eq("classification", dash(c.class))
		eq("classification_reason", dash(c.classReason))
	}
	for _, n := range []string{"conn_trace_id", "transformed_host", "transformed_uri", "request_transform_status"} {
		eq(n, "-")
	}

	// The trace id is the one the target saw.
	if c.targetStatus != "" {
		seen, _ := traces.Load(c.path)
		if s, _ := seen.(string); s == "" || f["trace_id"] != s {
			t.Errorf("%s: trace_id = %q, want the X-Amzn-Trace-Id the target saw (%q)", c.name, f["trace_id"], s)
		}
	} else if f["trace_id"] != "-" && !traceRE.MatchString(f["trace_id"]) {
		t.Errorf("%s: trace_id = %q, want - or Root=1-…", c.name, f["trace_id"])
	}

	// Times: measured ones are seconds with milliseconds, the others -1.
	names := []string{"request_processing_time", "target_processing_time", "response_processing_time"}
	for i, n := range names {
		if i < c.times {
			if !secondsRE.MatchString(f[n]) {
				t.Errorf("%s: %s = %q, want seconds like 0.001", c.name, n, f[n])
			}
		} else {
			eq(n, "-1")
		}
	}
	if c.status == 504 {
		// Sent to the target, which never answered within the idle timeout.
		if d, _ := strconv.ParseFloat(f["request_processing_time"], 64); d > 0.5 {
			t.Errorf("%s: request_processing_time = %v, want the time before sending only", c.name, d)
		}
	}
	ts, err1 := time.Parse("2006-01-02T15:04:05.000000Z", f["time"])
	created, err2 := time.Parse("2006-01-02T15:04:05.000000Z", f["request_creation_time"])
	if err1 != nil || err2 != nil {
		t.Errorf("%s: time %q, request_creation_time %q: %v %v", c.name, f["time"], f["request_creation_time"], err1, err2)
	} else if created.After(ts) || created.Before(begin.Add(-time.Second)) || ts.After(end.Add(time.Second)) {
		t.Errorf("%s: request_creation_time %v and time %v, want in order within the test's %v…%v", c.name, created, ts, begin, end)
	}
	if c.status == 504 {
		if d := ts.Sub(created); d < 900*time.Millisecond || d > 3*time.Second {
			t.Errorf("%s: time − request_creation_time = %v, want about the 1s idle timeout", c.name, d)
		}
	}

	// Bytes: on h1, everything that crossed the client connection; on
	// net/http, bodies only.
	recv, err1 := strconv.ParseInt(f["received_bytes"], 10, 64)
	sent, err2 := strconv.ParseInt(f["sent_bytes"], 10, 64)
	switch {
	case err1 != nil || err2 != nil:
		t.Errorf("%s: received_bytes %q, sent_bytes %q", c.name, f["received_bytes"], f["sent_bytes"])
	case !netHTTP:
		if recv != c.wrote || sent != c.read {
			t.Errorf("%s: received_bytes %d, sent_bytes %d; the client wrote %d and read %d", c.name, recv, sent, c.wrote, c.read)
		}
	case c.status == 101:
		if recv < 0 || sent < 0 || sent > c.read {
			t.Errorf("%s: received_bytes %d, sent_bytes %d; the client wrote %d and read %d", c.name, recv, sent, c.wrote, c.read)
		}
	default:
		if recv != 0 || sent != c.body {
			t.Errorf("%s: received_bytes %d, sent_bytes %d; want 0 and the body's %d", c.name, recv, sent, c.body)
		}
	}
}

var (
	secondsRE = regexp.MustCompile(`^[0-9]+\.[0-9]{3}$`)
	traceRE   = regexp.MustCompile(`^(Root|Self)=1-[0-9a-f]{8}-[0-9a-f]{24}`)
)

// requestPath returns the path of a "request" field, "-" when there is none.
func requestPath(req string) string {
	parts := strings.Split(req, " ")
	if len(parts) != 3 || parts[1] == "-" {
		return "-"
	}
	u := parts[1]
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexByte(u, '/'); i >= 0 {
		return u[i:]
	}
	return u
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// waitLines waits (at most 5s) for the access log at path to hold n
// complete lines and returns them; more than n fails.
func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	var lines []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		lines = splitLines(string(data))
		if len(lines) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(lines) != n {
		t.Fatalf("%s: %d lines, want %d:\n%s", path, len(lines), n, strings.Join(lines, ""))
	}
	return lines
}

// splitLines returns the complete (newline-ended) lines of s.
func splitLines(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return out
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
}

// jsonKeys decodes one JSON log line, returning its keys in order and its
// values, which must all be strings.
func jsonKeys(t *testing.T, line string) ([]string, map[string]string) {
	t.Helper()
	m := map[string]string{}
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("decoding %s: %v", line, err)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	var keys []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line %q: want an object", line)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
	}
	return keys, m
}

// newCloser returns the port of a target that reads a request head and
// closes the connection without answering.
func newCloser(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// countingConn counts the bytes a client connection carries.
type countingConn struct {
	net.Conn
	read, wrote atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.wrote.Add(int64(n))
	return n, err
}

// wsExchange upgrades to WebSocket at url, echoes one message, closes
// normally and notes the connection's address and bytes in c.
func wsExchange(t *testing.T, url string, c *obsCase) {
	t.Helper()
	var cc *countingConn
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc = &countingConn{Conn: nc}
		return cc, nil
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr},
		HTTPHeader: http.Header{"User-Agent": {c.ua}},
	})
	if err != nil {
		t.Fatalf("%s: dial: %v", c.name, err)
	}
	defer ws.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("%s: status %d, want 101", c.name, resp.StatusCode)
	}
	if err := ws.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || string(msg) != "hello" {
		t.Fatalf("%s: echo %q, %v", c.name, msg, err)
	}
	if err := ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("%s: close: %v", c.name, err)
	}
	c.client = cc.LocalAddr().String()
	c.wrote, c.read = cc.wrote.Load(), cc.read.Load()
}

// scrapedMetrics is one scrape, parsed.
type scrapedMetrics map[string]*dto.MetricFamily

// scrapeHandler scrapes h over a real HTTP connection and parses the text
// exposition.
func scrapeHandler(t *testing.T, h http.Handler) scrapedMetrics {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	return scrapeURL(t, srv.URL, "")
}

// scrapeURL scrapes url, with a bearer token when token is not empty.
func scrapeURL(t *testing.T, url, token string) scrapedMetrics {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: status %d: %s", url, resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the exposition of %s: %v", url, err)
	}
	return fams
}

// find returns the series of family name whose labels are exactly kv, or
// nil.
func (s scrapedMetrics) find(name string, kv []string) *dto.Metric {
	want := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		want[kv[i]] = kv[i+1]
	}
next:
	for _, m := range s[name].GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is the counter's or gauge's value; a missing series fails the test.
func (s scrapedMetrics) value(t *testing.T, name string, kv []string) float64 {
	t.Helper()
	m := s.find(name, kv)
	switch {
	case m == nil:
		t.Errorf("%s%v: no such series; have %d", name, kv, len(s[name].GetMetric()))
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Errorf("%s%v is neither counter nor gauge", name, kv)
	return -1
}

func (s scrapedMetrics) want(t *testing.T, name string, kv []string, want float64) {
	t.Helper()
	if got := s.value(t, name, kv); got != want && s.find(name, kv) != nil {
		t.Errorf("%s%v = %v, want %v", name, kv, got, want)
	}
}

func (s scrapedMetrics) wantHistogramCount(t *testing.T, name string, kv []string, want uint64) {
	t.Helper()
	m := s.find(name, kv)
	if m == nil || m.Histogram == nil {
		t.Errorf("%s%v: no such histogram", name, kv)
		return
	}
	if got := m.Histogram.GetSampleCount(); got != want {
		t.Errorf("%s_count%v = %d, want %d", name, kv, got, want)
	}
}

// TestObserveHealthChangeLog turns a target unhealthy with an injected
// clock: the change is logged at info with from, to and reason, the gauges
// follow, and health checks count as no request.
func TestObserveHealthChangeLog(t *testing.T) {
	t.Parallel()
	var sick atomic.Bool
	var probes atomic.Int32
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hc" {
			return
		}
		probes.Add(1)
		if sick.Load() {
			w.WriteHeader(500)
		}
	})
	fake := clock.NewFake(time.Now())
	v := newVars(t, 1)
	v["B1"] = b.port
	e := startWith(t, render(t, `version: 1
load_balancers:
  - name: hc
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
    health_check: { path: /hc, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2 }
`, v), func(o *server.Options) { o.Clock = fake })
	// Each Advance runs the probes that fall due, synchronously.
	fake.Advance(0)
	e.waitHealthy("app", 1)
	sick.Store(true)
	fake.Advance(5 * time.Second)
	fake.Advance(5 * time.Second)
	target := fmt.Sprintf("127.0.0.1:%d", b.port)
	var changes []string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `level=INFO msg="target health changed"`) {
			changes = append(changes, line)
		}
	}
	want := []struct{ from, to, reason string }{
		{"initial", "healthy", ""},
		{"healthy", "unhealthy", "Target.ResponseCodeMismatch"},
	}
	if len(changes) != len(want) {
		t.Fatalf("%d health changes logged, want %d:\n%s", len(changes), len(want), strings.Join(changes, "\n"))
	}
	for i, w := range want {
		reason := "reason=" + w.reason + " "
		if w.reason == "" {
			reason = `reason="" `
		}
		for _, attr := range []string{"level=INFO", "target_group=app", "target=" + target, "from=" + w.from + " ", "to=" + w.to + " ", reason} {
			if !strings.Contains(changes[i]+" ", attr) {
				t.Errorf("change %d: %q lacks %s", i+1, changes[i], attr)
			}
		}
	}

	m := scrapeHandler(t, e.srv.Metrics())
	group := []string{"load_balancer", "hc", "target_group", "app"}
	m.want(t, "sluice_healthy_targets", group, 0)
	m.want(t, "sluice_unhealthy_targets", group, 1)
	// Three probes reached the target; none was a request.
	if n := probes.Load(); n != 3 {
		t.Errorf("%d probes reached the target, want 3", n)
	}
	if s := m.find("sluice_requests_total", []string{"load_balancer", "hc", "listener", fmt.Sprintf("hc:%d", v["P1"])}); s != nil && s.GetCounter().GetValue() != 0 {
		t.Errorf("sluice_requests_total = %v after health checks only, want 0", s.GetCounter().GetValue())
	}
	if s := m["sluice_target_requests_total"]; len(s.GetMetric()) > 0 {
		for _, x := range s.GetMetric() {
			if x.GetCounter().GetValue() != 0 {
				t.Errorf("sluice_target_requests_total counts health checks: %v", x)
			}
		}
	}
}

// TestObserveReopenBinary runs the real binary with an access log: after
// the file is moved away and SIGUSR1 sent, new lines go to a new file at
// the configured path and the moved file keeps the old ones. The metrics
// listener and the admin API's /metrics serve the same counters.
func TestObserveReopenBinary(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "b", nil)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	v := newVars(t, 1)
	v["B1"], v["Log"] = b.port, logPath
	cfg := filepath.Join(dir, "sluice.yaml")
	writeFile(t, cfg, render(t, `version: 1
load_balancers:
  - name: rot
    access_logs: { path: {{.Log}} }
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
    health_check: { enabled: false }
`, v))
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"-c", cfg, "--watch-interval", "1h", "--metrics-addr", metricsAddr}
	if *engineFlag != "" {
		args = append(args, "--engine", *engineFlag)
	}
	p := startServe(t, filepath.Join(dir, "data"), args...)

	c := client()
	url := fmt.Sprintf("http://127.0.0.1:%d", v["P1"])
	send := func(path string) {
		t.Helper()
		if resp, body := get(t, c, url+path); resp.StatusCode != 200 || body != "b" {
			t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
		}
	}
	for _, p := range []string{"/before1", "/before2", "/before3"} {
		send(p)
	}
	waitLines(t, logPath, 3)
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGUSR1)
	waitFor(t, 5*time.Second, "the reopen logged", func() bool {
		return strings.Contains(p.logs.String(), "access logs reopened")
	})
	for _, p := range []string{"/after1", "/after2"} {
		send(p)
	}
	paths := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			f, err := accesslog.ParseALB(l)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, requestPath(f["request"]))
		}
		return out
	}
	if got := paths(waitLines(t, logPath, 2)); !slices.Equal(got, []string{"/after1", "/after2"}) {
		t.Errorf("new file holds %v, want the requests after the reopen", got)
	}
	if got := paths(waitLines(t, logPath+".1", 3)); !slices.Equal(got, []string{"/before1", "/before2", "/before3"}) {
		t.Errorf("moved file holds %v, want the requests before the reopen", got)
	}

	// The metrics listener needs no token; the admin API's /metrics does.
	lb := []string{"load_balancer", "rot", "listener", fmt.Sprintf("rot:%d", v["P1"])}
	m := scrapeURL(t, "http://"+metricsAddr+"/metrics", "")
	m.want(t, "sluice_requests_total", lb, 5)
	reloads := []string{"source", "file", "result", "success"}
	before := 0.0
	if s := m.find("sluice_config_reloads_total", reloads); s != nil {
		before = s.GetCounter().GetValue()
	}
	resp, err := http.Get(p.endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("admin /metrics without a token: status %d, want 401", resp.StatusCode)
	}
	token, err := os.ReadFile(filepath.Join(p.dataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	am := scrapeURL(t, p.endpoint+"/metrics", strings.TrimSpace(string(token)))
	am.want(t, "sluice_requests_total", lb, 5)

	// SIGHUP reloads the file: one more successful file reload.
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 5*time.Second, "the reload counted", func() bool {
		s := scrapeURL(t, "http://"+metricsAddr+"/metrics", "").find("sluice_config_reloads_total", reloads)
		return s != nil && s.GetCounter().GetValue() == before+1
	})
	m = scrapeURL(t, "http://"+metricsAddr+"/metrics", "")
	if s := m["sluice_config_last_reload_success_timestamp_seconds"]; len(s.GetMetric()) != 1 {
		t.Errorf("sluice_config_last_reload_success_timestamp_seconds: %v, want one series", s)
	}
	p.stop()
}

// TestObserveTimeoutNotResent: a GET the target does not answer within the
// idle timeout gets one 504 after that timeout, and the target sees it
// once, also when it goes out on a kept-alive target connection.
func TestObserveTimeoutNotResent(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var slow atomic.Int32
	b := newBackend(t, "b", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			slow.Add(1)
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		}
		io.WriteString(w, "b")
	})
	v := newVars(t, 1)
	v["B1"] = b.port
	start(t, render(t, `version: 1
load_balancers:
  - name: slow
    idle_timeout: 1s
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
    health_check: { enabled: false }
`, v))
	addr := fmt.Sprintf("127.0.0.1:%d", v["P1"])
	c := client()
	for i := 0; i < 3; i++ { // leave a target connection open in the pool
		if resp, body := get(t, c, "http://"+addr+"/warm"); resp.StatusCode != 200 || body != "b" {
			t.Fatalf("warm-up: %d %q", resp.StatusCode, body)
		}
	}
	begin := time.Now()
	code, text := rawRequest(t, addr, "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	took := time.Since(begin)
	if code != 504 {
		t.Fatalf("status %d, want 504:\n%.300s", code, text)
	}
	if took > 1800*time.Millisecond {
		t.Errorf("504 after %v, want about the 1s idle timeout", took)
	}
	if n := slow.Load(); n != 1 {
		t.Errorf("the target received the request %d times, want once", n)
	}
}
