package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/accesslog"
	"github.com/sluicelb/sluice/internal/apiclient"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// stepClock is a clock on which waiting takes no time: AfterFunc moves it
// forward by d and runs f at once, so sluice status measures exactly the
// --interval it was given.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

var _ clock.Clock = (*stepClock)(nil)

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	go f()
	return firedTimer{}
}

type firedTimer struct{}

func (firedTimer) Stop() bool { return false }

var statusStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// useStepClock makes sluice status run on a stepClock for the test.
func useStepClock(t *testing.T) {
	old := statusClock
	statusClock = &stepClock{now: statusStart}
	t.Cleanup(func() { statusClock = old })
}

// The admin API's answers sluice status reads, as the API writes them.
const (
	statusLBsJSON = `{"load_balancers":[
		{"id":"web","name":"web","idle_timeout":"1m0s","listeners":["web:443","web:80"],"managed_by":"api"},
		{"id":"internal","name":"internal","idle_timeout":"1m0s","listeners":["internal:8080"],"managed_by":"file"},
		{"id":"parked","name":"parked","idle_timeout":"1m0s","listeners":[],"managed_by":"api"}]}`
	statusListenersJSON = `{"listeners":[
		{"id":"web:443","load_balancer":"web","protocol":"HTTPS","port":443,"default_actions":[{"type":"forward","target_group":"app"}]},
		{"id":"web:80","load_balancer":"web","protocol":"HTTP","port":80,"default_actions":[{"type":"redirect","redirect":{"protocol":"HTTPS","port":"443","status_code":"HTTP_301"}}]},
		{"id":"internal:8080","load_balancer":"internal","protocol":"HTTP","port":8080,"default_actions":[{"type":"forward","target_group":"app"}]}]}`
	statusTGsJSON = `{"target_groups":[
		{"id":"app","name":"app","protocol":"HTTP","port":8080,"registered_targets":3,"load_balancers":["web","internal"]},
		{"id":"idle","name":"idle","protocol":"HTTP","port":80,"registered_targets":1,"load_balancers":[]},
		{"id":"gone","name":"gone","protocol":"HTTP","port":80,"registered_targets":0,"load_balancers":[]},
		{"id":"empty","name":"empty","protocol":"HTTP","port":80,"registered_targets":0,"load_balancers":[]}]}`
	statusAppHealthJSON = `{"target_health_descriptions":[
		{"target":{"id":"127.0.0.1","port":8081},"health_check_port":"8081","target_health":{"state":"healthy","reason":"","description":""}},
		{"target":{"id":"127.0.0.1","port":8082},"health_check_port":"8082","target_health":{"state":"healthy","reason":"","description":""}},
		{"target":{"id":"127.0.0.1","port":8083},"health_check_port":"8083","target_health":{"state":"unhealthy","reason":"Target.Timeout","description":"Request timed out"}}]}`
	statusIdleHealthJSON = `{"target_health_descriptions":[
		{"target":{"id":"10.0.0.5","port":80},"health_check_port":"80","target_health":{"state":"healthy","reason":"","description":""}},
		{"target":{"id":"10.0.0.6","port":80},"health_check_port":"80","target_health":{"state":"draining","reason":"Target.DeregistrationInProgress","description":"Target deregistration is in progress"},"draining":{"seconds_left":12,"open_connections":0}}]}`
)

// statusBounds are sluice's histogram buckets (internal/metrics).
var statusBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// histText writes a histogram series in the text format from its
// observations per bucket (not cumulative), keyed by upper bound; a key
// above the last bound counts in +Inf.
func histText(name, labels string, perBucket map[float64]int) string {
	var b strings.Builder
	n, sum := 0, 0.0
	for _, le := range statusBounds {
		n += perBucket[le]
		sum += float64(perBucket[le]) * le
		fmt.Fprintf(&b, "%s_bucket{%s,le=\"%g\"} %d\n", name, labels, le, n)
	}
	n += perBucket[math.Inf(1)]
	fmt.Fprintf(&b, "%s_bucket{%s,le=\"+Inf\"} %d\n%s_sum{%s} %g\n%s_count{%s} %d\n",
		name, labels, n, name, labels, sum, name, labels, n)
	return b.String()
}

// statusScrape is a GET /metrics answer. The second scrape of the golden
// test (statusScrape2) is the first plus:
//
//   - web:443: 100 requests, 90 in 25ms, 5 more in 50ms, 5 more in 100ms
//     (p99 = 50ms + 50ms·4/5 = 90ms); 2 target 5xx; its ELB 5xx counter went
//     from 5 to 1, a reset, so 1 new.
//   - web:80: one redirect in under 1ms (p99 = 1ms·0.99 = 990µs).
//   - internal:8080: 10 requests to app's 8081 in under 5ms.
//   - app: 60 requests to 8081 (50 from web, 10 from internal), 50 to 8082,
//     none to 8083; 110 response times; 2 target 5xx.
//   - idle: nothing (same counters); empty and gone: no series at all.
func statusScrape(second bool) string {
	var b strings.Builder
	add := func(first, more int) int {
		if second {
			return first + more
		}
		return first
	}
	b.WriteString("# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\ngo_goroutines 12\n")
	b.WriteString("# TYPE sluice_requests_total counter\n")
	fmt.Fprintf(&b, "sluice_requests_total{listener=\"web:443\",load_balancer=\"web\"} %d\n", add(1000, 100))
	fmt.Fprintf(&b, "sluice_requests_total{listener=\"web:80\",load_balancer=\"web\"} %d\n", add(50, 1))
	fmt.Fprintf(&b, "sluice_requests_total{listener=\"internal:8080\",load_balancer=\"internal\"} %d\n", add(7, 10))
	b.WriteString("# TYPE sluice_http_responses_total counter\n")
	elb5xx := 5
	if second {
		elb5xx = 1
	}
	fmt.Fprintf(&b, "sluice_http_responses_total{code_class=\"5xx\",listener=\"web:443\",load_balancer=\"web\",origin=\"elb\"} %d\n", elb5xx)
	fmt.Fprintf(&b, "sluice_http_responses_total{code_class=\"5xx\",listener=\"web:443\",load_balancer=\"web\",origin=\"target\"} %d\n", add(3, 2))
	fmt.Fprintf(&b, "sluice_http_responses_total{code_class=\"2xx\",listener=\"web:443\",load_balancer=\"web\",origin=\"target\"} %d\n", add(992, 97))
	fmt.Fprintf(&b, "sluice_http_responses_total{code_class=\"3xx\",listener=\"web:80\",load_balancer=\"web\",origin=\"elb\"} %d\n", add(50, 1))
	fmt.Fprintf(&b, "sluice_http_responses_total{code_class=\"5xx\",listener=\"web:80\",load_balancer=\"web\",origin=\"elb\"} 0\n")

	b.WriteString("# TYPE sluice_request_duration_seconds histogram\n")
	web443 := map[float64]int{0.01: 500, 0.025: 400, 0.05: 90, 0.1: 10}
	web80 := map[float64]int{0.001: 50}
	internal := map[float64]int{0.005: 7}
	if second {
		web443[0.025] += 90
		web443[0.05] += 5
		web443[0.1] += 5
		web80[0.001]++
		internal[0.005] += 10
	}
	b.WriteString(histText("sluice_request_duration_seconds", `listener="web:443",load_balancer="web"`, web443))
	b.WriteString(histText("sluice_request_duration_seconds", `listener="web:80",load_balancer="web"`, web80))
	b.WriteString(histText("sluice_request_duration_seconds", `listener="internal:8080",load_balancer="internal"`, internal))

	b.WriteString("# TYPE sluice_target_requests_total counter\n")
	for _, s := range []struct {
		lb, group, target string
		first, more       int
	}{
		{"web", "app", "127.0.0.1:8081", 500, 50},
		{"web", "app", "127.0.0.1:8082", 480, 50},
		{"web", "app", "127.0.0.1:8083", 20, 0},
		{"internal", "app", "127.0.0.1:8081", 7, 10},
		{"web", "idle", "10.0.0.5:80", 7, 0},
	} {
		fmt.Fprintf(&b, "sluice_target_requests_total{load_balancer=%q,target=%q,target_group=%q} %d\n",
			s.lb, s.target, s.group, add(s.first, s.more))
	}
	b.WriteString("# TYPE sluice_target_http_responses_total counter\n")
	fmt.Fprintf(&b, "sluice_target_http_responses_total{code_class=\"5xx\",load_balancer=\"web\",target_group=\"app\"} %d\n", add(3, 2))
	fmt.Fprintf(&b, "sluice_target_http_responses_total{code_class=\"2xx\",load_balancer=\"web\",target_group=\"app\"} %d\n", add(990, 98))
	fmt.Fprintf(&b, "sluice_target_http_responses_total{code_class=\"5xx\",load_balancer=\"web\",target_group=\"idle\"} 1\n")

	b.WriteString("# TYPE sluice_target_response_time_seconds histogram\n")
	appWeb := map[float64]int{0.005: 300, 0.01: 400, 0.025: 280, 0.05: 20}
	appInternal := map[float64]int{0.005: 7}
	idle := map[float64]int{0.01: 7}
	if second {
		appWeb[0.005] += 30
		appWeb[0.01] += 40
		appWeb[0.025] += 27
		appWeb[0.05] += 3
		appInternal[0.005] += 10
	}
	b.WriteString(histText("sluice_target_response_time_seconds", `load_balancer="web",target_group="app"`, appWeb))
	b.WriteString(histText("sluice_target_response_time_seconds", `load_balancer="internal",target_group="app"`, appInternal))
	b.WriteString(histText("sluice_target_response_time_seconds", `load_balancer="web",target_group="idle"`, idle))

	b.WriteString("# TYPE sluice_healthy_targets gauge\nsluice_healthy_targets{load_balancer=\"web\",target_group=\"app\"} 2\n")
	b.WriteString("# TYPE sluice_unhealthy_targets gauge\nsluice_unhealthy_targets{load_balancer=\"web\",target_group=\"app\"} 1\n")
	b.WriteString("# TYPE sluice_certificate_expiry_timestamp_seconds gauge\nsluice_certificate_expiry_timestamp_seconds{certificate=\"site\"} 1.7565e+09\n")
	return b.String()
}

// statusFake is the admin API as sluice status reads it: the JSON
// endpoints, and GET /metrics answering scrapes in turn (the last one
// again and again). onScrape, when set, runs before each answer with the
// number of the scrape, from 1.
type statusFake struct {
	t        *testing.T
	scrapes  []string
	onScrape func(n int)

	mu      sync.Mutex
	scraped int
}

func newStatusFake(t *testing.T, scrapes ...string) (*statusFake, *httptest.Server) {
	f := &statusFake{t: t, scrapes: scrapes}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *statusFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer t" {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"code":"Unauthorized","message":"missing or wrong bearer token"}}`)
		return
	}
	if r.Method != "GET" {
		f.t.Errorf("sluice status sent %s %s; it only reads", r.Method, r.URL.Path)
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/metrics":
		f.mu.Lock()
		f.scraped++
		n := f.scraped
		f.mu.Unlock()
		if f.onScrape != nil {
			f.onScrape(n)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		io.WriteString(w, f.scrapes[min(n, len(f.scrapes))-1])
	case "/api/v1/load_balancers":
		io.WriteString(w, statusLBsJSON)
	case "/api/v1/listeners":
		io.WriteString(w, statusListenersJSON)
	case "/api/v1/target_groups":
		io.WriteString(w, statusTGsJSON)
	case "/api/v1/target_groups/app/health":
		io.WriteString(w, statusAppHealthJSON)
	case "/api/v1/target_groups/idle/health":
		io.WriteString(w, statusIdleHealthJSON)
	case "/api/v1/target_groups/empty/health":
		io.WriteString(w, `{"target_health_descriptions":[]}`)
	default:
		// "gone" was deleted between the list and its health.
		w.WriteHeader(404)
		io.WriteString(w, `{"error":{"code":"NotFound","message":"no such target group"}}`)
	}
}

func (f *statusFake) scrapeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scraped
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestStatusOnceGolden(t *testing.T) {
	tests := []struct {
		name, golden string
		args         []string
		scrapes      int
	}{
		{"table", "status_once.golden", nil, 2},
		{"json", "status_once_json.golden", []string{"-o", "json"}, 2},
		{"single scrape", "status_single.golden", []string{"--interval", "0"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useStepClock(t)
			f, srv := newStatusFake(t, statusScrape(false), statusScrape(true))
			args := append([]string{"status", "--once", "--interval", "10ms", "--endpoint", srv.URL, "--token", "t"}, tt.args...)
			var out, errb bytes.Buffer
			if code := Main(args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if errb.Len() > 0 {
				t.Errorf("stderr: %s", errb.String())
			}
			if strings.Contains(out.String(), "\x1b") {
				t.Error("--once printed escape codes")
			}
			if n := f.scrapeCount(); n != tt.scrapes {
				t.Errorf("scraped /metrics %d times, want %d", n, tt.scrapes)
			}
			checkGolden(t, tt.golden, out.String())
		})
	}
}

func TestStatusJSONValues(t *testing.T) {
	useStepClock(t)
	_, srv := newStatusFake(t, statusScrape(false), statusScrape(true))
	var out, errb bytes.Buffer
	if code := Main([]string{"status", "--once", "--interval", "10ms", "-o", "json", "--endpoint", srv.URL, "--token", "t"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m statusModel
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("-o json is not the model: %v\n%s", err, out.String())
	}
	if m.Interval != 0.01 || !m.At.Equal(statusStart.Add(10*time.Millisecond)) {
		t.Errorf("interval %v at %v", m.Interval, m.At)
	}
	web443 := m.LoadBalancers[0].Listeners[0]
	approx(t, "web:443 req/s", web443.RequestsPerSecond, 100/0.01)
	approx(t, "web:443 p99", web443.P99Seconds, 0.09)
	approx(t, "web:443 ELB 5xx/s (reset)", web443.ELB5xxPerSecond, 1/0.01)
	approx(t, "web:443 target 5xx/s", web443.Target5xxPerSecond, 2/0.01)
	approx(t, "web:80 p99", m.LoadBalancers[0].Listeners[1].P99Seconds, 0.00099)

	app := m.TargetGroups[0]
	if app.Name != "app" || app.Healthy != 2 || app.Unhealthy != 1 || len(app.Targets) != 3 {
		t.Errorf("app: %+v", app)
	}
	approx(t, "app req/s", app.RequestsPerSecond, 110/0.01)
	// 110 new times: 40 ≤ 5ms, 80 ≤ 10ms, 107 ≤ 25ms, 110 ≤ 50ms; rank
	// 108.9 is 1.9 of the 3 in (25ms, 50ms].
	approx(t, "app p99", app.P99Seconds, 0.025+0.025*1.9/3)
	approx(t, "8081 req/s, both load balancers", app.Targets[0].RequestsPerSecond, 60/0.01)
	approx(t, "8083 req/s", app.Targets[2].RequestsPerSecond, 0)
	if app.Targets[2].Reason != "Target.Timeout" {
		t.Errorf("8083 reason %q", app.Targets[2].Reason)
	}
	for _, g := range m.TargetGroups {
		if g.Name == "gone" {
			t.Error("a group deleted before its health was read is shown")
		}
	}
}

// approx fails unless got is set and within a millionth of want.
func approx(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: null, want %g", what, want)
		return
	}
	if math.Abs(*got-want) > 1e-6*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %g, want %g", what, *got, want)
	}
}

// A group whose counters did not move shows rates of 0 and no p99, as does
// one with no series at all; neither is an error.
func TestStatusNoTraffic(t *testing.T) {
	prev, err := parseScrape(strings.NewReader(statusScrape(false)))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := parseScrape(strings.NewReader(statusScrape(true)))
	if err != nil {
		t.Fatal(err)
	}
	api := statusAPI{TargetGroups: []apiTargetGroup{
		{Name: "idle", Targets: decodeHealth(t, statusIdleHealthJSON)},
		{Name: "empty"},
	}}
	m := buildStatus(api, prev, cur, time.Second)
	for _, g := range m.TargetGroups {
		t.Run(g.Name, func(t *testing.T) {
			approx(t, "req/s", g.RequestsPerSecond, 0)
			approx(t, "5xx/s", g.Target5xxPerSecond, 0)
			if g.P99Seconds != nil {
				t.Errorf("p99 %g, want none", *g.P99Seconds)
			}
			for _, tg := range g.Targets {
				approx(t, tg.Target+" req/s", tg.RequestsPerSecond, 0)
			}
		})
	}
	if idle := m.TargetGroups[0]; idle.Healthy != 1 || idle.Unhealthy != 0 {
		t.Errorf("idle: %d healthy, %d unhealthy; draining is neither", idle.Healthy, idle.Unhealthy)
	}
	var out bytes.Buffer
	if err := renderStatus(&out, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"idle", "2", "1", "0", "0.0", "-", "0.0"},
		{"empty", "0", "0", "0", "0.0", "-", "0.0"},
		{"idle", "10.0.0.6:80", "draining", "Target.DeregistrationInProgress", "0.0"},
		{"empty", "-", "-", "-", "-"},
	} {
		if !hasRow(out.String(), want...) {
			t.Errorf("output lacks the row %q:\n%s", want, out.String())
		}
	}
}

// hasRow reports whether a line of a table printed in out has the cells
// want.
func hasRow(out string, want ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if slices.Equal(strings.Fields(line), want) {
			return true
		}
	}
	return false
}

func decodeHealth(t *testing.T, s string) []apiTargetHealth {
	t.Helper()
	var h struct {
		List []apiTargetHealth `json:"target_health_descriptions"`
	}
	if err := json.Unmarshal([]byte(s), &h); err != nil {
		t.Fatal(err)
	}
	return h.List
}

func TestBucketQuantile(t *testing.T) {
	inf := math.Inf(1)
	// 100 observations: 50 ≤ 0.1, 40 in (0.1, 0.2], 10 in (0.2, 0.4].
	hundred := []bucket{{0.1, 50}, {0.2, 90}, {0.4, 100}, {inf, 100}}
	tests := []struct {
		name    string
		q       float64
		buckets []bucket
		want    float64
	}{
		{"median at a bound", 0.5, hundred, 0.1},
		{"first bucket interpolates from 0", 0.25, hundred, 0.05},
		{"p75 interpolates in the second", 0.75, hundred, 0.1 + 0.1*25.0/40},
		{"p99", 0.99, hundred, 0.2 + 0.2*9.0/10},
		{"p100 is the top of the last bucket with any", 1, hundred, 0.4},
		{"unsorted input", 0.75, []bucket{{inf, 100}, {0.4, 100}, {0.1, 50}, {0.2, 90}}, 0.1 + 0.1*25.0/40},
		{"rank in +Inf gives the highest finite bound", 0.99, []bucket{{0.1, 1}, {0.2, 2}, {inf, 10}}, 0.2},
		// Unevened, (0.2, 0.4] would hold 12 and p75 be 0.2+0.2·7/12.
		{"non-monotonic counts are evened out", 0.75, []bucket{{0.1, 10}, {0.2, 8}, {0.4, 20}, {inf, 20}}, 0.2 + 0.2*5.0/10},
		{"a first bound of 0 or less is returned as is", 0.5, []bucket{{0, 10}, {1, 10}, {inf, 10}}, 0},
		{"no observations", 0.99, []bucket{{0.1, 0}, {inf, 0}}, math.NaN()},
		{"no +Inf bucket", 0.5, []bucket{{0.1, 5}, {0.2, 10}}, math.NaN()},
		{"+Inf alone", 0.5, []bucket{{inf, 10}}, math.NaN()},
		{"no buckets", 0.5, nil, math.NaN()},
		{"q below 0", -0.1, hundred, math.Inf(-1)},
		{"q above 1", 1.1, hundred, inf},
		{"q NaN", math.NaN(), hundred, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bucketQuantile(tt.q, append([]bucket(nil), tt.buckets...))
			switch {
			case math.IsNaN(tt.want):
				if !math.IsNaN(got) {
					t.Errorf("got %g, want NaN", got)
				}
			case math.IsInf(tt.want, 0):
				if got != tt.want {
					t.Errorf("got %g, want %g", got, tt.want)
				}
			case math.Abs(got-tt.want) > 1e-12:
				t.Errorf("got %g, want %g", got, tt.want)
			}
		})
	}
}

func TestStatusRateAndLatencyText(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tt := range []struct {
		got, want string
	}{
		{rateText(nil), "-"},
		{rateText(f(0)), "0.0"},
		{rateText(f(0.04)), "0.04"},
		{rateText(f(12.54)), "12.5"},
		{rateText(f(12500)), "12500"},
		{latencyText(nil), "-"},
		{latencyText(f(0.00085)), "850µs"},
		{latencyText(f(0.0025)), "2.5ms"},
		{latencyText(f(0.023)), "23ms"},
		{latencyText(f(1.25)), "1.25s"},
		{latencyText(f(60)), "60.0s"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, srv := newStatusFake(t, statusScrape(false))
	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"unreachable endpoint", []string{"--once", "--endpoint", closed.URL, "--token", "t"}, exitUnreachable, "cannot reach the sluice admin API"},
		{"token refused", []string{"--once", "--endpoint", srv.URL, "--token", "wrong"}, exitAuth, "refused"},
		{"--interval 0 without --once", []string{"--interval", "0", "--endpoint", srv.URL, "--token", "t"}, exitUsage, "needs --once"},
		{"negative --interval", []string{"--once", "--interval", "-1s", "--endpoint", srv.URL, "--token", "t"}, exitUsage, "must not be negative"},
		{"bad -o", []string{"--once", "-o", "yaml", "--endpoint", srv.URL, "--token", "t"}, exitUsage, "use table or json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useStepClock(t)
			var out, errb bytes.Buffer
			code := Main(append([]string{"status"}, tt.args...), &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.inStderr) {
				t.Errorf("stderr lacks %q: %s", tt.inStderr, errb.String())
			}
			if out.Len() > 0 {
				t.Errorf("stdout: %s", out.String())
			}
		})
	}
}

// The live view prints a frame at once without rates, then one per
// interval with them, until its context ends; to a writer that is not a
// terminal it writes no escape codes.
func TestStatusLive(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f, srv := newStatusFake(t, statusScrape(false), statusScrape(true))
			f.onScrape = func(n int) {
				if n == 3 {
					cancel()
				}
			}
			p := &statusPoller{c: apiclient.New(srv.URL, "t"), clock: &stepClock{now: statusStart}, interval: 2 * time.Second}
			var out, errb bytes.Buffer
			if err := p.live(ctx, &out, &errb, asJSON); !errors.Is(err, context.Canceled) {
				t.Errorf("live returned %v, want context.Canceled", err)
			}
			got := out.String()
			if strings.Contains(got, "\x1b") {
				t.Error("escape codes written to a non-terminal")
			}
			if asJSON {
				lines := strings.Split(strings.TrimSpace(got), "\n")
				if len(lines) != 2 {
					t.Fatalf("%d JSON lines, want 2:\n%s", len(lines), got)
				}
				var first, second statusModel
				json.Unmarshal([]byte(lines[0]), &first)
				json.Unmarshal([]byte(lines[1]), &second)
				if first.Interval != 0 || second.Interval != 2 {
					t.Errorf("intervals %v then %v, want 0 then 2", first.Interval, second.Interval)
				}
				return
			}
			if n := strings.Count(got, "sluice status: "+srv.URL+", every 2s"); n != 2 {
				t.Errorf("%d frames, want 2:\n%s", n, got)
			}
			one, two := strings.Index(got, "one scrape"), strings.Index(got, "12:00:02  rates over 2s")
			if one < 0 || two < one {
				t.Errorf("want a frame without rates, then one over 2s:\n%s", got)
			}
		})
	}
}

// sluice status reads what internal/metrics exports, through the admin
// client's Accept header: label names and values line up.
func TestStatusReadsRegistry(t *testing.T) {
	reg := metrics.New()
	srv := httptest.NewServer(reg.Handler())
	defer srv.Close()
	p := &statusPoller{c: apiclient.New(srv.URL, ""), clock: &stepClock{now: statusStart}}
	ctx := context.Background()

	prev, _, err := p.scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := statusStart
	for i := range 4 {
		e := &accesslog.Entry{
			Type: "https", LoadBalancer: "web", Listener: "web:443",
			RequestCreationTime: t0, Time: t0.Add(20 * time.Millisecond),
			TargetGroup: "app", Target: "10.0.0.1:8080",
			ELBStatus: 200, TargetStatus: 200, TargetProcessingTime: 15 * time.Millisecond,
			RequestProcessingTime: 0, ResponseProcessingTime: 0, MatchedRulePriority: 0,
			ActionsExecuted: []string{"forward"},
		}
		if i == 3 {
			e.ELBStatus, e.TargetStatus, e.TargetProcessingTime = 502, 0, -1
		}
		reg.Request(e)
	}
	cur, _, err := p.scrape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := statusAPI{
		Listeners: []apiListener{{ID: "web:443", LoadBalancer: "web"}},
		TargetGroups: []apiTargetGroup{{Name: "app", Targets: decodeHealth(t,
			`{"target_health_descriptions":[{"target":{"id":"10.0.0.1","port":8080},"target_health":{"state":"healthy"}}]}`)}},
	}
	m := buildStatus(api, prev, cur, 2*time.Second)
	l := m.LoadBalancers[0].Listeners[0]
	approx(t, "req/s", l.RequestsPerSecond, 2)
	approx(t, "ELB 5xx/s", l.ELB5xxPerSecond, 0.5)
	approx(t, "target 5xx/s", l.Target5xxPerSecond, 0)
	// 4 durations of 20ms, in (10ms, 25ms]: rank 3.96 of 4.
	approx(t, "p99", l.P99Seconds, 0.01+0.015*3.96/4)
	g := m.TargetGroups[0]
	approx(t, "group req/s", g.RequestsPerSecond, 2)
	approx(t, "target req/s", g.Targets[0].RequestsPerSecond, 2)
	approx(t, "group p99", g.P99Seconds, 0.01+0.015*2.97/3)
}

// TestGrafanaDashboardMetrics checks that the sample dashboard is JSON
// whose queries use only metrics sluice exports, as does sluice status.
func TestGrafanaDashboardMetrics(t *testing.T) {
	exported := map[string]bool{}
	for _, n := range metrics.Names {
		exported[n.Prometheus] = true
	}
	used := regexp.MustCompile(`sluice_[a-z_]+`)
	check := func(where, s string) {
		for _, name := range used.FindAllString(s, -1) {
			base := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				base = strings.TrimSuffix(base, suffix)
			}
			if !exported[base] {
				t.Errorf("%s: %s is not a metric sluice exports (internal/metrics/names.go)", where, name)
			}
		}
	}

	for _, name := range []string{famStatusRequests, famStatusResponses, famStatusDuration,
		famStatusTargetRequests, famStatusTargetResponses, famStatusTargetTime} {
		check("sluice status", name)
	}

	raw, err := os.ReadFile(filepath.Join("..", "..", "contrib", "grafana", "sluice-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	var exprs int
	ids := map[float64]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if id, ok := v["id"].(float64); ok && v["type"] != nil && v["gridPos"] != nil {
				if ids[id] {
					t.Errorf("%s: panel id %g used twice", path, id)
				}
				ids[id] = true
			}
			for _, k := range sortedKeys(v) {
				if k == "expr" {
					exprs++
					if s, _ := v[k].(string); strings.TrimSpace(s) == "" {
						t.Errorf("%s: empty expr", path)
					}
				}
				walk(path+"."+k, v[k])
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case string:
			check(path, v)
		}
	}
	walk("dashboard", dash)
	if exprs < 10 {
		t.Errorf("%d queries in the dashboard; expected its panels' queries", exprs)
	}

	// Every family the dashboard shows is one sluice exports; and the
	// ones an operator needs most are there.
	all := used.FindAllString(string(raw), -1)
	sort.Strings(all)
	for _, want := range []string{"sluice_requests_total", "sluice_request_duration_seconds_bucket",
		"sluice_target_response_time_seconds_bucket", "sluice_healthy_targets", "sluice_unhealthy_targets",
		"sluice_certificate_expiry_timestamp_seconds", "sluice_config_reloads_total"} {
		if i := sort.SearchStrings(all, want); i == len(all) || all[i] != want {
			t.Errorf("the dashboard does not show %s", want)
		}
	}
}
