package accesslog

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var (
	t0 = time.Date(2026, 12, 4, 19, 8, 36, 123456789, time.UTC)
	// created is when the request's first byte arrived, 250.5 ms before t0.
	created = t0.Add(-250500 * time.Microsecond)
)

const traceID = "Root=1-58337262-36d228ad5d99923122bbe354"

type formatCase struct {
	name string
	e    Entry
	// want pins the fields the case is about, written out by hand.
	want map[string]string
}

func formatCases() []formatCase {
	return []formatCase{
		{
			name: "forwarded",
			e: Entry{
				Type: "http", Time: t0, RequestCreationTime: created,
				LoadBalancer: "web-lb", Listener: "web-lb:80",
				Client: netip.MustParseAddrPort("192.168.131.39:2817"), Target: "10.0.0.1:80", TargetGroup: "web",
				RequestProcessingTime: 1 * time.Millisecond, TargetProcessingTime: 248 * time.Millisecond, ResponseProcessingTime: 1500 * time.Microsecond,
				ELBStatus: 200, TargetStatus: 200, ReceivedBytes: 34, SentBytes: 366,
				Method: "GET", URL: "http://www.example.com:80/?q=1", Proto: "HTTP/1.1", UserAgent: "curl/8.5.0",
				TraceID: traceID, MatchedRulePriority: 10, ActionsExecuted: []string{"forward"},
			},
			want: map[string]string{
				"type": "http", "time": "2026-12-04T19:08:36.123456Z", "elb": "web-lb",
				"client:port": "192.168.131.39:2817", "target:port": "10.0.0.1:80",
				"request_processing_time": "0.001", "target_processing_time": "0.248", "response_processing_time": "0.002",
				"elb_status_code": "200", "target_status_code": "200", "received_bytes": "34", "sent_bytes": "366",
				"request": "GET http://www.example.com:80/?q=1 HTTP/1.1", "user_agent": "curl/8.5.0",
				"ssl_cipher": "-", "ssl_protocol": "-", "target_group_arn": "web", "trace_id": traceID,
				"domain_name": "-", "chosen_cert_arn": "-", "matched_rule_priority": "10",
				"request_creation_time": "2026-12-04T19:08:35.872956Z", "actions_executed": "forward",
				"redirect_url": "-", "error_reason": "-", "target:port_list": "10.0.0.1:80", "target_status_code_list": "200",
				"classification": "-", "classification_reason": "-", "conn_trace_id": "-",
				"transformed_host": "-", "transformed_uri": "-", "request_transform_status": "-",
			},
		},
		{
			name: "lb-502",
			e: Entry{
				Type: "http", Time: t0, RequestCreationTime: created, LoadBalancer: "web-lb",
				Client: netip.MustParseAddrPort("203.0.113.9:40001"), Target: "10.0.0.2:8080", TargetGroup: "api",
				RequestProcessingTime: -1, TargetProcessingTime: -1, ResponseProcessingTime: -1,
				ELBStatus: 502, ReceivedBytes: 120, SentBytes: 272,
				Method: "POST", URL: "http://api.example.com:80/v1/orders", Proto: "HTTP/1.1", UserAgent: "Go-http-client/1.1",
				TraceID: traceID, MatchedRulePriority: 3, ActionsExecuted: []string{"forward"}, ErrorReason: "TargetConnectionError",
			},
			want: map[string]string{
				"request_processing_time": "-1", "target_processing_time": "-1", "response_processing_time": "-1",
				"elb_status_code": "502", "target_status_code": "-", "error_reason": "TargetConnectionError",
				"target:port": "10.0.0.2:8080", "target:port_list": "10.0.0.2:8080", "target_status_code_list": "-",
			},
		},
		{
			name: "redirect",
			e: Entry{
				Type: "https", Time: t0, RequestCreationTime: created, LoadBalancer: "web-lb",
				Client: netip.MustParseAddrPort("198.51.100.20:41000"), ELBStatus: 301,
				RequestProcessingTime: -1, TargetProcessingTime: -1, ResponseProcessingTime: -1,
				ReceivedBytes: 80, SentBytes: 210,
				Method: "GET", URL: "https://old.example.com:443/a b", Proto: "HTTP/1.1", UserAgent: "curl/8.5.0",
				SSLCipher: "TLS_AES_128_GCM_SHA256", SSLProtocol: "TLSv1.3", TraceID: traceID,
				DomainName: "old.example.com", ChosenCert: "old-example", MatchedRulePriority: 5,
				ActionsExecuted: []string{"redirect"}, RedirectURL: "https://new.example.com:443/a%20b?from=old",
			},
			want: map[string]string{
				"target:port": "-", "target_group_arn": "-", "actions_executed": "redirect",
				"redirect_url": "https://new.example.com:443/a%20b?from=old", "elb_status_code": "301",
				"request": "GET https://old.example.com:443/a b HTTP/1.1", "chosen_cert_arn": "old-example",
			},
		},
		{
			name: "fixed-response",
			e: Entry{
				Type: "http", Time: t0, RequestCreationTime: created, LoadBalancer: "web-lb",
				Client: netip.MustParseAddrPort("198.51.100.21:41001"), ELBStatus: 404,
				RequestProcessingTime: -1, TargetProcessingTime: -1, ResponseProcessingTime: -1,
				ReceivedBytes: 75, SentBytes: 140,
				Method: "GET", URL: "http://www.example.com:80/missing", Proto: "HTTP/1.1", UserAgent: "curl/8.5.0",
				TraceID: traceID, MatchedRulePriority: 0, ActionsExecuted: []string{"fixed-response"},
			},
			want: map[string]string{
				"matched_rule_priority": "0", "actions_executed": "fixed-response", "elb_status_code": "404",
				"target_status_code": "-", "target:port": "-",
			},
		},
		{
			name: "websocket",
			e: Entry{
				Type: "ws", Time: t0, RequestCreationTime: t0.Add(-90 * time.Second), LoadBalancer: "web-lb",
				Client: netip.MustParseAddrPort("192.0.2.7:50000"), Target: "10.0.0.3:9000", TargetGroup: "chat",
				RequestProcessingTime: 0, TargetProcessingTime: 3 * time.Millisecond, ResponseProcessingTime: 0,
				ELBStatus: 101, TargetStatus: 101, ReceivedBytes: 48213, SentBytes: 1290331,
				Method: "GET", URL: "http://chat.example.com:80/socket", Proto: "HTTP/1.1", UserAgent: "Mozilla/5.0",
				TraceID: traceID, MatchedRulePriority: 20, ActionsExecuted: []string{"forward"},
			},
			want: map[string]string{
				"type": "ws", "elb_status_code": "101", "target_status_code": "101",
				"request_processing_time": "0.000", "sent_bytes": "1290331",
				"request_creation_time": "2026-12-04T19:07:06.123456Z",
			},
		},
		{
			name: "h2-tls-ipv6",
			e: Entry{
				Type: "h2", Time: t0, RequestCreationTime: created, LoadBalancer: "web-lb",
				Client: netip.MustParseAddrPort("[2001:db8::1]:443"), Target: "[2001:db8::10]:8443", TargetGroup: "shop",
				RequestProcessingTime: 12345 * time.Millisecond, TargetProcessingTime: 20 * time.Millisecond, ResponseProcessingTime: 1 * time.Millisecond,
				ELBStatus: 200, TargetStatus: 200, ReceivedBytes: 512, SentBytes: 9000,
				Method: "GET", URL: "https://shop.example:443/products?page=2", Proto: "HTTP/2.0",
				UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
				SSLCipher: "ECDHE-RSA-AES128-GCM-SHA256", SSLProtocol: "TLSv1.2", TraceID: traceID,
				DomainName: "shop.example", ChosenCert: "shop-example", MatchedRulePriority: 1,
				ActionsExecuted: []string{"authenticate", "forward"},
			},
			want: map[string]string{
				"client:port": "[2001:db8::1]:443", "target:port": "[2001:db8::10]:8443",
				"request_processing_time": "12.345", "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256", "ssl_protocol": "TLSv1.2",
				"domain_name": "shop.example", "chosen_cert_arn": "shop-example", "actions_executed": "authenticate,forward",
				"request": "GET https://shop.example:443/products?page=2 HTTP/2.0",
			},
		},
		{
			name: "rejected-malformed",
			e: Entry{
				Type: "http", Time: t0, RequestCreationTime: created, LoadBalancer: "web-lb",
				Client:                netip.MustParseAddrPort("[::ffff:205.210.31.158]:61084"),
				RequestProcessingTime: -1, TargetProcessingTime: -1, ResponseProcessingTime: -1,
				ELBStatus: 400, ReceivedBytes: 0, SentBytes: 272,
				MatchedRulePriority: -1, Classification: "Severe", ClassificationReason: "BadMethod",
			},
			want: map[string]string{
				"client:port": "205.210.31.158:61084", "request": "- - -", "user_agent": "-",
				"matched_rule_priority": "-", "actions_executed": "-", "trace_id": "-",
				"classification": "Severe", "classification_reason": "BadMethod",
				"target:port_list": "-", "target_status_code_list": "-",
			},
		},
		{
			name: "hostile-user-agent",
			e: Entry{
				Type: "http", Time: t0, RequestCreationTime: created, LoadBalancer: "web-lb",
				Client: netip.MustParseAddrPort("192.0.2.66:1234"), Target: "10.0.0.1:80", TargetGroup: "web",
				ELBStatus: 200, TargetStatus: 200, ReceivedBytes: 10, SentBytes: 20,
				Method: "GET", URL: `http://www.example.com:80/?q="x"&p=\y`, Proto: "HTTP/1.1",
				UserAgent: "Mozilla \"quoted\" back\\slash 日本語 😀 nul\x00 tab\t nl\n cr\r del\x7f \\x41 bad\xff",
				TraceID:   `Root=1-"inj" "x"`, MatchedRulePriority: 2, ActionsExecuted: []string{"forward"},
				Classification: "Acceptable", ClassificationReason: "NonCompliantHeader",
			},
			want: map[string]string{
				"user_agent": "Mozilla \"quoted\" back\\slash 日本語 😀 nul\x00 tab\t nl\n cr\r del\x7f \\x41 bad\xff",
				"request":    `GET http://www.example.com:80/?q="x"&p=\y HTTP/1.1`,
				"trace_id":   `Root=1-"inj" "x"`,
			},
		},
		{
			name: "retried",
			e: Entry{
				Type: "https", Time: t0, RequestCreationTime: created, LoadBalancer: "web-lb",
				Client: netip.MustParseAddrPort("192.0.2.8:3000"), Target: "10.0.0.5:80", TargetGroup: "web",
				RequestProcessingTime: 2 * time.Millisecond, TargetProcessingTime: 31 * time.Millisecond, ResponseProcessingTime: 0,
				ELBStatus: 200, TargetStatus: 200, ReceivedBytes: 300, SentBytes: 800,
				Method: "GET", URL: "https://www.example.com:443/", Proto: "HTTP/1.1", UserAgent: "curl/8.5.0",
				SSLCipher: "TLS_AES_256_GCM_SHA384", SSLProtocol: "TLSv1.3", TraceID: traceID,
				DomainName: "www.example.com", ChosenCert: "www", MatchedRulePriority: 0, ActionsExecuted: []string{"forward"},
				TargetList: []string{"10.0.0.4:80", "10.0.0.5:80"}, TargetStatusList: []string{"-", "200"},
			},
			want: map[string]string{
				"target:port_list": "10.0.0.4:80 10.0.0.5:80", "target_status_code_list": "- 200",
			},
		},
		{
			name: "zero",
			e:    Entry{},
			want: map[string]string{
				"type": "-", "time": "-", "elb": "-", "client:port": "-", "request_processing_time": "0.000",
				"elb_status_code": "-", "received_bytes": "0", "request": "- - -", "matched_rule_priority": "0",
				"request_creation_time": "-",
			},
		},
	}
}

// oracle derives every field's value from e with fmt and strings: a slow,
// plain second implementation the fast appenders must agree with.
func oracle(e *Entry) map[string]string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	secs := func(d time.Duration) string {
		if d < 0 {
			return "-1"
		}
		return fmt.Sprintf("%.3f", d.Seconds())
	}
	status := func(c int) string {
		if c <= 0 {
			return "-"
		}
		return strconv.Itoa(c)
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	join := func(items []string, sep string) string {
		if len(items) == 0 {
			return "-"
		}
		parts := make([]string, len(items))
		for i, s := range items {
			parts[i] = dash(s)
		}
		return strings.Join(parts, sep)
	}
	client := "-"
	if e.Client.IsValid() {
		client = netip.AddrPortFrom(e.Client.Addr().Unmap(), e.Client.Port()).String()
	}
	prio := "-"
	if e.MatchedRulePriority >= 0 {
		prio = strconv.Itoa(e.MatchedRulePriority)
	}
	targets, statuses := dash(e.Target), status(e.TargetStatus)
	if e.TargetList != nil {
		targets = join(e.TargetList, " ")
	}
	if e.TargetStatusList != nil {
		statuses = join(e.TargetStatusList, " ")
	}
	return map[string]string{
		"type": dash(e.Type), "time": stamp(e.Time), "elb": dash(e.LoadBalancer),
		"client:port": client, "target:port": dash(e.Target),
		"request_processing_time":  secs(e.RequestProcessingTime),
		"target_processing_time":   secs(e.TargetProcessingTime),
		"response_processing_time": secs(e.ResponseProcessingTime),
		"elb_status_code":          status(e.ELBStatus), "target_status_code": status(e.TargetStatus),
		"received_bytes": strconv.FormatInt(e.ReceivedBytes, 10), "sent_bytes": strconv.FormatInt(e.SentBytes, 10),
		"request":    dash(e.Method) + " " + dash(e.URL) + " " + dash(e.Proto),
		"user_agent": dash(e.UserAgent), "ssl_cipher": dash(e.SSLCipher), "ssl_protocol": dash(e.SSLProtocol),
		"target_group_arn": dash(e.TargetGroup), "trace_id": dash(e.TraceID),
		"domain_name": dash(e.DomainName), "chosen_cert_arn": dash(e.ChosenCert),
		"matched_rule_priority": prio, "request_creation_time": stamp(e.RequestCreationTime),
		"actions_executed": join(e.ActionsExecuted, ","), "redirect_url": dash(e.RedirectURL),
		"error_reason": dash(e.ErrorReason), "target:port_list": targets, "target_status_code_list": statuses,
		"classification": dash(e.Classification), "classification_reason": dash(e.ClassificationReason),
		"conn_trace_id": "-", "transformed_host": "-", "transformed_uri": "-", "request_transform_status": "-",
	}
}

func TestALBRoundTrip(t *testing.T) {
	for _, tc := range formatCases() {
		t.Run(tc.name, func(t *testing.T) {
			line := string(AppendALB(nil, &tc.e))
			if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
				t.Fatalf("want exactly one line ending in \\n, got %q", line)
			}
			for i := 0; i < len(line)-1; i++ {
				if c := line[i]; c < 0x20 || c >= 0x7f {
					t.Fatalf("byte %#x at %d is not printable ASCII: %q", c, i, line)
				}
			}
			got, err := ParseALB(line)
			if err != nil {
				t.Fatalf("ParseALB: %v\nline: %s", err, line)
			}
			if len(got) != len(ALBFields) {
				t.Errorf("parsed %d fields, want %d", len(got), len(ALBFields))
			}
			want := oracle(&tc.e)
			for _, name := range ALBFields {
				if got[name] != want[name] {
					t.Errorf("%s = %q, oracle says %q", name, got[name], want[name])
				}
			}
			for name, v := range tc.want {
				if got[name] != v {
					t.Errorf("%s = %q, want %q", name, got[name], v)
				}
			}
		})
	}
}

func TestJSONMatchesALB(t *testing.T) {
	for _, tc := range formatCases() {
		t.Run(tc.name, func(t *testing.T) {
			line := AppendJSON(nil, &tc.e)
			if bytes.IndexByte(line, '\n') != len(line)-1 {
				t.Fatalf("want exactly one line ending in \\n, got %q", line)
			}
			var got map[string]string
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("encoding/json: %v\nline: %s", err, line)
			}
			alb, err := ParseALB(string(AppendALB(nil, &tc.e)))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(ALBFields) {
				t.Errorf("JSON has %d keys, want %d", len(got), len(ALBFields))
			}
			for _, name := range ALBFields {
				key := strings.ReplaceAll(name, ":", "_")
				want := runeWise(alb[name])
				if v, ok := got[key]; !ok || v != want {
					t.Errorf("%s = %q (present %v), ALB line has %q", key, v, ok, want)
				}
			}
			// Keys come in ALB's order.
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.Token() // {
			for i := 0; dec.More(); i++ {
				k, _ := dec.Token()
				dec.Token()
				if want := strings.ReplaceAll(ALBFields[i], ":", "_"); k != want {
					t.Fatalf("key %d is %v, want %s", i, k, want)
				}
			}
		})
	}
}

func TestGolden(t *testing.T) {
	for _, format := range []struct {
		file   string
		append func([]byte, *Entry) []byte
	}{
		{"alb.golden", AppendALB},
		{"json.golden", AppendJSON},
	} {
		t.Run(format.file, func(t *testing.T) {
			var got []byte
			for _, tc := range formatCases() {
				got = append(got, "# "+tc.name+"\n"...)
				got = format.append(got, &tc.e)
			}
			path := filepath.Join("testdata", format.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update after checking it):\n got:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}

func TestSecondsRounding(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"},
		{499 * time.Microsecond, "0.000"},
		{500 * time.Microsecond, "0.001"},
		{999499 * time.Microsecond, "0.999"},
		{999499 * time.Nanosecond, "0.001"},
		{999500 * time.Microsecond, "1.000"},
		{61*time.Second + 7*time.Millisecond, "61.007"},
		{-1, "-1"},
		{-time.Hour, "-1"},
	} {
		if got := string(enc{}.seconds(nil, fType, tc.d)); got != tc.want {
			t.Errorf("seconds(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestAppendReusesBuffer(t *testing.T) {
	e := formatCases()[0].e
	buf := make([]byte, 0, 2048)
	for _, f := range []func([]byte, *Entry) []byte{AppendALB, AppendJSON} {
		if n := testing.AllocsPerRun(100, func() { buf = f(buf[:0], &e) }); n != 0 {
			t.Errorf("%d allocations per line with a reused buffer, want 0", int(n))
		}
	}
}

func TestParseALBErrors(t *testing.T) {
	good := string(AppendALB(nil, &formatCases()[0].e))
	for _, tc := range []struct{ name, line string }{
		{"empty", ""},
		{"truncated", good[:len(good)/2]},
		{"missing last field", strings.TrimSuffix(strings.TrimSuffix(good, "\n"), ` "-"`)},
		{"unterminated quote", strings.Replace(good, `"curl/8.5.0"`, `"curl/8.5.0`, 1)},
		{"unquoted where ALB quotes", strings.Replace(good, `"curl/8.5.0"`, `curl/8.5.0`, 1)},
		{"quoted where ALB does not", strings.Replace(good, "http ", `"http" `, 1)},
		{"bad escape", strings.Replace(good, `curl/8.5.0`, `curl\q`, 1)},
		{"bad hex", strings.Replace(good, `curl/8.5.0`, `curl\xZZ`, 1)},
		{"short escape", strings.Replace(good, `curl/8.5.0`, `curl\x2`, 1)},
		{"double space", strings.Replace(good, "http ", "http  ", 1)},
		{"glued trailing", strings.TrimSuffix(good, "\n") + `"x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if m, err := ParseALB(tc.line); err == nil {
				t.Errorf("ParseALB(%q) = %v, want an error", tc.line, m)
			}
		})
	}
}

func TestParseALBIgnoresLaterFields(t *testing.T) {
	good := strings.TrimSuffix(string(AppendALB(nil, &formatCases()[0].e)), "\n")
	want, err := ParseALB(good)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseALB(good + ` 3.34.116.99 "-" "future"` + "\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("trailing fields changed the result:\n got %v\nwant %v", got, want)
	}
}

// A line from AWS's documentation, extended with the fields ALB has added
// since (values as seen in real logs), parses as AWS describes it.
func TestParseALBDocumentedLine(t *testing.T) {
	line := `https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 ` +
		`192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 ` +
		`"GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ` +
		`arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 ` +
		`"Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" ` +
		`1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" ` +
		`TID_1234abcd5678ef90 "-" "-" "-"`
	m, err := ParseALB(line)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"type": "https", "client:port": "192.168.131.39:2817", "request": "GET https://www.example.com:443/ HTTP/1.1",
		"actions_executed": "authenticate,forward", "conn_trace_id": "TID_1234abcd5678ef90", "request_transform_status": "-",
	} {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
}

func FuzzParseALB(f *testing.F) {
	for _, tc := range formatCases() {
		f.Add(string(AppendALB(nil, &tc.e)))
	}
	f.Add(`http "a`)
	f.Fuzz(func(t *testing.T, line string) {
		m, err := ParseALB(line)
		if err == nil && len(m) != len(ALBFields) {
			t.Fatalf("ParseALB accepted %q with %d fields", line, len(m))
		}
	})
}

// FuzzALBRoundTrip puts arbitrary text in the free-form fields and checks
// that every field comes back as it went in.
func FuzzALBRoundTrip(f *testing.F) {
	f.Add("curl/8.5.0", "http://x:80/", "Root=1", "forward")
	f.Add("\"\\\x00\xff 日本", "- - -", "", ",")
	f.Fuzz(func(t *testing.T, ua, url, trace, action string) {
		e := formatCases()[0].e
		e.UserAgent, e.URL, e.TraceID, e.ActionsExecuted = ua, url, trace, []string{action}
		e.TargetGroup, e.SSLCipher = trace, ua // unquoted fields too
		got, err := ParseALB(string(AppendALB(nil, &e)))
		if err != nil {
			t.Fatal(err)
		}
		if want := oracle(&e); !maps.Equal(got, want) {
			t.Fatalf("round trip changed fields:\n got %q\nwant %q", got, want)
		}
		var j map[string]string
		if err := json.Unmarshal(AppendJSON(nil, &e), &j); err != nil {
			t.Fatal(err)
		}
		if j["user_agent"] != runeWise(got["user_agent"]) {
			t.Fatalf("JSON user_agent %q, ALB %q", j["user_agent"], got["user_agent"])
		}
	})
}

// benchCases are the lines the benchmarks format: a short HTTP line, a long
// HTTP/2 line with TLS fields and an IPv6 client, and a hostile one.
var benchCases = []string{"forwarded", "h2-tls-ipv6", "hostile-user-agent"}

func benchmarkAppend(b *testing.B, appendLine func([]byte, *Entry) []byte) {
	for _, tc := range formatCases() {
		if !slices.Contains(benchCases, tc.name) {
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 0, 2048)
			b.ReportAllocs()
			for b.Loop() {
				buf = appendLine(buf[:0], &tc.e)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func BenchmarkAppendALB(b *testing.B)  { benchmarkAppend(b, AppendALB) }
func BenchmarkAppendJSON(b *testing.B) { benchmarkAppend(b, AppendJSON) }

// runeWise replaces each invalid UTF-8 byte of s with U+FFFD, as AppendJSON
// (and encoding/json) do.
func runeWise(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
