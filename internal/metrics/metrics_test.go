package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/accesslog"
	"github.com/sluicelb/sluice/internal/clock"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	lb      = "web"
	https   = "web:443"
	http80  = "web:80"
	api     = "api"
	target1 = "10.0.0.1:8080"
	target2 = "10.0.0.2:8080"
)

// entry builds an access log entry on lb's https listener that took d from
// first byte to last; d < 0 leaves both times zero.
func entry(d time.Duration, f func(e *accesslog.Entry)) *accesslog.Entry {
	e := &accesslog.Entry{
		Type: "https", LoadBalancer: lb, Listener: https,
		RequestProcessingTime: -1, TargetProcessingTime: -1, ResponseProcessingTime: -1,
		MatchedRulePriority: -1,
	}
	if d >= 0 {
		e.RequestCreationTime = t0
		e.Time = t0.Add(d)
	}
	f(e)
	return e
}

// forward fills e as a request forwarded to target in group api.
func forward(e *accesslog.Entry, target string, elb, status int, tpt time.Duration) {
	e.ActionsExecuted = []string{"forward"}
	e.TargetGroup, e.Target = api, target
	e.ELBStatus, e.TargetStatus = elb, status
	e.TargetProcessingTime = tpt
	e.RulesEvaluated = 1
	e.ReceivedBytes, e.SentBytes = 1, 1
}

const ms = time.Millisecond

// script is a day in the life of load balancer web; the expected values in
// TestRequest are worked out by hand from it.
var script = []*accesslog.Entry{
	// E1: a plain forward.
	entry(4*ms, func(e *accesslog.Entry) {
		forward(e, target1, 200, 200, 3*ms)
		e.RulesEvaluated, e.ReceivedBytes, e.SentBytes = 2, 100, 1000
	}),
	// E2: the target's own 503, passed through.
	entry(30*ms, func(e *accesslog.Entry) {
		forward(e, target2, 503, 503, 20*ms)
		e.ReceivedBytes, e.SentBytes = 50, 200
	}),
	// E3: the target refused the connection; the load balancer answers 502.
	entry(2*ms, func(e *accesslog.Entry) {
		forward(e, target2, 502, 0, -1)
		e.ErrorReason = "TargetConnectionError"
		e.ReceivedBytes, e.SentBytes = 60, 150
	}),
	// E4: retried from target1 to target2; stickiness could not be kept.
	entry(1500*time.Microsecond, func(e *accesslog.Entry) {
		forward(e, target2, 200, 200, 1*ms)
		e.TargetList = []string{target1, target2}
		e.TargetStatusList = []string{"-", "200"}
		e.NonSticky = true
		e.ReceivedBytes, e.SentBytes = 10, 20
	}),
	// E6: fixed-response 404.
	entry(200*time.Microsecond, func(e *accesslog.Entry) {
		e.ActionsExecuted = []string{"fixed-response"}
		e.ELBStatus, e.RulesEvaluated = 404, 3
		e.ReceivedBytes, e.SentBytes = 5, 7
	}),
	// E7: fixed-response 200.
	entry(200*time.Microsecond, func(e *accesslog.Entry) {
		e.ActionsExecuted = []string{"fixed-response"}
		e.ELBStatus, e.RulesEvaluated = 200, 3
		e.ReceivedBytes, e.SentBytes = 5, 7
	}),
	// E8: a malformed request, rejected by desync mitigation.
	entry(100*time.Microsecond, func(e *accesslog.Entry) {
		e.ELBStatus = 400
		e.Classification, e.ClassificationReason = "Severe", "BadContentLength"
		e.ReceivedBytes, e.SentBytes = 30, 100
	}),
	// E9: an ambiguous request, forwarded, slow.
	entry(2100*ms, func(e *accesslog.Entry) {
		forward(e, target1, 200, 200, 2*time.Second)
		e.Classification, e.ClassificationReason = "Ambiguous", "UndefinedContentLengthSemantics"
	}),
	// E10: the client went away before the target answered.
	entry(90*time.Second, func(e *accesslog.Entry) {
		forward(e, target1, 460, 0, -1)
		e.SentBytes = 0
	}),
	// E11: a WebSocket, logged at its end; 101 is in no class.
	entry(70*time.Second, func(e *accesslog.Entry) {
		forward(e, target2, 101, 101, 4*ms)
		e.Type = "wss"
	}),
	// E12: request timeout before the request was complete; no times.
	entry(-1, func(e *accesslog.Entry) {
		e.ELBStatus = 408
	}),
	// E14: acceptable, instantaneous target.
	entry(0, func(e *accesslog.Entry) {
		forward(e, target1, 200, 200, 0)
		e.Classification, e.ClassificationReason = "Acceptable", "SpaceInUri"
	}),
	// E15: the target's own 500.
	entry(6*ms, func(e *accesslog.Entry) {
		forward(e, target1, 500, 500, 5*ms)
	}),
	// E16: no healthy target in the group.
	entry(300*time.Microsecond, func(e *accesslog.Entry) {
		forward(e, "", 503, 0, -1)
	}),
	// E17: an authentication error code outside ALB's documented set.
	entry(100*time.Microsecond, func(e *accesslog.Entry) {
		e.ELBStatus, e.RulesEvaluated = 561, 1
		e.ReceivedBytes, e.SentBytes = 1, 1
	}),
	// E5: a redirect on the plain HTTP listener.
	entry(500*time.Microsecond, func(e *accesslog.Entry) {
		e.Type, e.Listener = "http", http80
		e.ActionsExecuted = []string{"redirect"}
		e.ELBStatus, e.RulesEvaluated = 301, 1
		e.RedirectURL = "https://example.com:443/"
		e.ReceivedBytes, e.SentBytes = 80, 120
	}),
	// E18: another load balancer with a group of the same name.
	entry(1*ms, func(e *accesslog.Entry) {
		e.LoadBalancer, e.Listener = "internal", "internal:80"
		forward(e, "10.1.0.1:80", 200, 200, 1*ms)
	}),
}

func TestRequest(t *testing.T) {
	r := New()
	for _, e := range script {
		r.Request(e)
	}
	s := scrape(t, r)

	s.wantSeries(t, "sluice_requests_total",
		pairs(lLB, lb, lListener, https), pairs(lLB, lb, lListener, http80),
		pairs(lLB, "internal", lListener, "internal:80"))
	s.want(t, 15, "sluice_requests_total", lLB, lb, lListener, https)
	s.want(t, 1, "sluice_requests_total", lLB, lb, lListener, http80)
	s.want(t, 1, "sluice_requests_total", lLB, "internal", lListener, "internal:80")

	t.Run("code classes", func(t *testing.T) {
		want := map[[2]string]float64{
			{"elb", "2xx"}: 1, {"elb", "3xx"}: 0, {"elb", "4xx"}: 4, {"elb", "5xx"}: 3,
			{"target", "2xx"}: 4, {"target", "3xx"}: 0, {"target", "4xx"}: 0, {"target", "5xx"}: 2,
		}
		for k, v := range want {
			s.want(t, v, "sluice_http_responses_total", lLB, lb, lListener, https, lOrigin, k[0], lCodeClass, k[1])
		}
		s.want(t, 1, "sluice_http_responses_total", lLB, lb, lListener, http80, lOrigin, "elb", lCodeClass, "3xx")
		s.want(t, 0, "sluice_http_responses_total", lLB, lb, lListener, http80, lOrigin, "target", lCodeClass, "2xx")
		if n := len(s["sluice_http_responses_total"].GetMetric()); n != 3*8 {
			t.Errorf("sluice_http_responses_total has %d series, want 24 (3 listeners × 2 origins × 4 classes)", n)
		}
	})

	t.Run("ELB codes", func(t *testing.T) {
		want := map[string]float64{"400": 1, "408": 1, "460": 1, "502": 1, "503": 1, "other": 2}
		for _, code := range elbCodeLabels {
			s.want(t, want[code], "sluice_elb_responses_total", lLB, lb, lListener, https, lCode, code)
		}
		s.want(t, 0, "sluice_elb_responses_total", lLB, lb, lListener, http80, lCode, "other")
	})

	t.Run("per listener counters", func(t *testing.T) {
		s.want(t, 267, "sluice_processed_bytes_total", lLB, lb, lListener, https, lDirection, "received")
		s.want(t, 1490, "sluice_processed_bytes_total", lLB, lb, lListener, https, lDirection, "sent")
		s.want(t, 80, "sluice_processed_bytes_total", lLB, lb, lListener, http80, lDirection, "received")
		s.want(t, 120, "sluice_processed_bytes_total", lLB, lb, lListener, http80, lDirection, "sent")
		s.want(t, 0, "sluice_redirects_total", lLB, lb, lListener, https)
		s.want(t, 1, "sluice_redirects_total", lLB, lb, lListener, http80)
		s.want(t, 2, "sluice_fixed_responses_total", lLB, lb, lListener, https)
		s.want(t, 0, "sluice_fixed_responses_total", lLB, lb, lListener, http80)
		s.want(t, 18, "sluice_rule_evaluations_total", lLB, lb, lListener, https)
		s.want(t, 1, "sluice_rule_evaluations_total", lLB, lb, lListener, http80)
		for _, c := range classificationLabels {
			s.want(t, 1, "sluice_desync_noncompliant_requests_total", lLB, lb, lListener, https, lClassification, c)
			s.want(t, 0, "sluice_desync_noncompliant_requests_total", lLB, lb, lListener, http80, lClassification, c)
		}
		s.want(t, 1, "sluice_non_sticky_requests_total", lLB, lb, lListener, https)
	})

	t.Run("request duration", func(t *testing.T) {
		s.wantHistogram(t, 14, 162.1444,
			[]uint64{6, 8, 9, 10, 10, 11, 11, 11, 11, 11, 12, 12, 12, 12, 12},
			"sluice_request_duration_seconds", lLB, lb, lListener, https)
		s.wantHistogram(t, 1, 0.0005,
			[]uint64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
			"sluice_request_duration_seconds", lLB, lb, lListener, http80)
	})

	t.Run("target group", func(t *testing.T) {
		s.wantSeries(t, "sluice_target_response_time_seconds",
			pairs(lLB, lb, lGroup, api), pairs(lLB, "internal", lGroup, api))
		s.wantHistogram(t, 7, 2.033,
			[]uint64{2, 2, 5, 5, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7},
			"sluice_target_response_time_seconds", lLB, lb, lGroup, api)
		want := map[string]float64{"2xx": 4, "3xx": 0, "4xx": 0, "5xx": 2}
		for class, v := range want {
			s.want(t, v, "sluice_target_http_responses_total", lLB, lb, lGroup, api, lCodeClass, class)
		}
		s.want(t, 1, "sluice_target_http_responses_total", lLB, "internal", lGroup, api, lCodeClass, "2xx")
	})

	t.Run("targets", func(t *testing.T) {
		s.wantSeries(t, "sluice_target_requests_total",
			pairs(lLB, lb, lGroup, api, lTarget, target1),
			pairs(lLB, lb, lGroup, api, lTarget, target2),
			pairs(lLB, "internal", lGroup, api, lTarget, "10.1.0.1:80"))
		s.want(t, 6, "sluice_target_requests_total", lLB, lb, lGroup, api, lTarget, target1)
		s.want(t, 4, "sluice_target_requests_total", lLB, lb, lGroup, api, lTarget, target2)
		s.want(t, 1, "sluice_target_requests_total", lLB, "internal", lGroup, api, lTarget, "10.1.0.1:80")
		// Request leaves target errors to TargetConnError.
		s.want(t, 0, "sluice_target_connection_errors_total", lLB, lb, lGroup, api, lTarget, target2)
	})
}

func TestConnections(t *testing.T) {
	r := New()
	for range 5 {
		r.ConnOpened(lb, https)
	}
	r.TLSError(lb, https)
	r.TLSError(lb, https)
	for range 3 {
		r.ConnClosed(lb, https)
	}
	r.ConnOpened(lb, http80)
	r.ConnRejected(lb, http80)
	r.ConnClosed(lb, "never-opened:1") // ignored, creates nothing
	r.TargetConnError(lb, api, target1)
	r.TargetConnError(lb, api, target1)
	r.TargetTLSError(lb, api, target1)
	r.TargetTLSError(lb, api, target2)

	s := scrape(t, r)
	s.wantSeries(t, "sluice_active_connections",
		pairs(lLB, lb, lListener, https), pairs(lLB, lb, lListener, http80))
	s.want(t, 2, "sluice_active_connections", lLB, lb, lListener, https)
	s.want(t, 5, "sluice_new_connections_total", lLB, lb, lListener, https)
	s.want(t, 2, "sluice_client_tls_negotiation_errors_total", lLB, lb, lListener, https)
	s.want(t, 0, "sluice_rejected_connections_total", lLB, lb, lListener, https)
	s.want(t, 1, "sluice_active_connections", lLB, lb, lListener, http80)
	s.want(t, 1, "sluice_new_connections_total", lLB, lb, lListener, http80)
	s.want(t, 1, "sluice_rejected_connections_total", lLB, lb, lListener, http80)
	s.want(t, 0, "sluice_requests_total", lLB, lb, lListener, https)

	s.want(t, 2, "sluice_target_connection_errors_total", lLB, lb, lGroup, api, lTarget, target1)
	s.want(t, 1, "sluice_target_tls_negotiation_errors_total", lLB, lb, lGroup, api, lTarget, target1)
	s.want(t, 0, "sluice_target_connection_errors_total", lLB, lb, lGroup, api, lTarget, target2)
	s.want(t, 1, "sluice_target_tls_negotiation_errors_total", lLB, lb, lGroup, api, lTarget, target2)
	s.want(t, 0, "sluice_target_requests_total", lLB, lb, lGroup, api, lTarget, target2)
}

func TestState(t *testing.T) {
	r := New()
	s := scrape(t, r)
	for _, f := range []string{"sluice_healthy_targets", "sluice_unhealthy_targets", "sluice_certificate_expiry_timestamp_seconds"} {
		if _, ok := s[f]; ok {
			t.Errorf("%s exported with no state function", f)
		}
	}

	calls := 0
	r.SetState(func() State {
		calls++
		return State{
			Groups: []GroupHealth{
				{LoadBalancer: lb, TargetGroup: api, Healthy: 2, Unhealthy: 1},
				{LoadBalancer: lb, TargetGroup: "static", Healthy: 0, Unhealthy: 0},
				{LoadBalancer: "internal", TargetGroup: api, Healthy: 1, Unhealthy: 0},
				// A duplicate adds up rather than failing the scrape.
				{LoadBalancer: lb, TargetGroup: api, Healthy: 1, Unhealthy: 1},
			},
			Certificates: []CertExpiry{
				{Name: "example.com", NotAfter: time.Unix(1767225600, 0)},
				{Name: "*.example.org", NotAfter: time.Unix(1760000000, 500)},
				// A duplicate reports the earliest expiry.
				{Name: "example.com", NotAfter: time.Unix(1767225000, 0)},
				{Name: "example.com", NotAfter: time.Unix(1767229999, 0)},
			},
		}
	})
	s = scrape(t, r)
	if calls != 1 {
		t.Errorf("state function called %d times in one scrape, want 1", calls)
	}
	s.wantSeries(t, "sluice_healthy_targets",
		pairs(lLB, lb, lGroup, api), pairs(lLB, lb, lGroup, "static"), pairs(lLB, "internal", lGroup, api))
	s.want(t, 3, "sluice_healthy_targets", lLB, lb, lGroup, api)
	s.want(t, 2, "sluice_unhealthy_targets", lLB, lb, lGroup, api)
	s.want(t, 0, "sluice_healthy_targets", lLB, lb, lGroup, "static")
	s.want(t, 0, "sluice_unhealthy_targets", lLB, lb, lGroup, "static")
	s.want(t, 1, "sluice_healthy_targets", lLB, "internal", lGroup, api)
	s.wantSeries(t, "sluice_certificate_expiry_timestamp_seconds",
		pairs(lCertificate, "example.com"), pairs(lCertificate, "*.example.org"))
	s.want(t, 1767225000, "sluice_certificate_expiry_timestamp_seconds", lCertificate, "example.com")
	s.want(t, 1760000000, "sluice_certificate_expiry_timestamp_seconds", lCertificate, "*.example.org")

	r.SetState(nil)
	s = scrape(t, r)
	if _, ok := s["sluice_healthy_targets"]; ok {
		t.Error("sluice_healthy_targets still exported after SetState(nil)")
	}
}

func TestControlPlaneCounters(t *testing.T) {
	clk := clock.NewFake(t0)
	r := NewWithClock(clk)

	s := scrape(t, r)
	if _, ok := s["sluice_config_last_reload_success_timestamp_seconds"]; ok {
		t.Error("last reload time exported before any reload")
	}

	r.ConfigReload("file", true)
	clk.Advance(90 * time.Second)
	r.ConfigReload("api", true)
	clk.Advance(30 * time.Second)
	r.ConfigReload("api", false) // a failure leaves the time alone
	r.ConfigReload("api", false)
	r.ACME("example.com", true)
	r.ACME("example.com", false)
	r.ACME("example.com", true)
	r.ACME("www.example.com", false)
	if _, ok := s["sluice_access_log_dropped_total"]; ok {
		t.Error("access log drops exported with no function")
	}
	dropped := uint64(7)
	r.SetAccessLogDropped(func() uint64 { return dropped })

	s = scrape(t, r)
	s.want(t, float64(t0.Add(90*time.Second).Unix()), "sluice_config_last_reload_success_timestamp_seconds")
	s.wantSeries(t, "sluice_config_reloads_total",
		pairs(lSource, "file", lResult, "success"), pairs(lSource, "file", lResult, "failure"),
		pairs(lSource, "api", lResult, "success"), pairs(lSource, "api", lResult, "failure"))
	s.want(t, 1, "sluice_config_reloads_total", lSource, "file", lResult, "success")
	s.want(t, 0, "sluice_config_reloads_total", lSource, "file", lResult, "failure")
	s.want(t, 1, "sluice_config_reloads_total", lSource, "api", lResult, "success")
	s.want(t, 2, "sluice_config_reloads_total", lSource, "api", lResult, "failure")
	s.want(t, 2, "sluice_acme_issuance_total", lCertificate, "example.com", lResult, "success")
	s.want(t, 1, "sluice_acme_issuance_total", lCertificate, "example.com", lResult, "failure")
	s.want(t, 0, "sluice_acme_issuance_total", lCertificate, "www.example.com", lResult, "success")
	s.want(t, 1, "sluice_acme_issuance_total", lCertificate, "www.example.com", lResult, "failure")
	s.want(t, 7, "sluice_access_log_dropped_total")
	dropped = 9
	scrape(t, r).want(t, 9, "sluice_access_log_dropped_total")
}

func TestRetain(t *testing.T) {
	r := New()
	for _, e := range script {
		r.Request(e)
	}
	r.ConnOpened(lb, http80) // still open when http80 is removed
	r.ConnOpened("internal", "internal:80")
	r.ConnClosed("internal", "internal:80")
	r.TargetConnError("internal", api, "10.1.0.9:80")
	r.ACME("old.example.com", true)
	r.ACME("example.com", true)

	// The new configuration has only lb web, listener https, group api
	// with target1.
	r.Retain(Keep{
		Listener:    func(k ListenerKey) bool { return k == ListenerKey{lb, https} },
		TargetGroup: func(k GroupKey) bool { return k == GroupKey{lb, api} },
		Target:      func(k TargetKey) bool { return k == TargetKey{lb, api, target1} },
		Certificate: func(name string) bool { return name == "example.com" },
	})
	s := scrape(t, r)
	s.wantSeries(t, "sluice_requests_total",
		pairs(lLB, lb, lListener, https),
		pairs(lLB, lb, lListener, http80)) // draining: one connection open
	s.want(t, 15, "sluice_requests_total", lLB, lb, lListener, https)
	s.wantSeries(t, "sluice_target_response_time_seconds", pairs(lLB, lb, lGroup, api))
	s.wantSeries(t, "sluice_target_requests_total", pairs(lLB, lb, lGroup, api, lTarget, target1))
	s.wantSeries(t, "sluice_target_connection_errors_total", pairs(lLB, lb, lGroup, api, lTarget, target1))
	s.wantSeries(t, "sluice_acme_issuance_total",
		pairs(lCertificate, "example.com", lResult, "success"), pairs(lCertificate, "example.com", lResult, "failure"))

	// Once the last connection closes, the next pruning drops the listener.
	r.ConnClosed(lb, http80)
	r.Retain(Keep{Listener: func(k ListenerKey) bool { return k != ListenerKey{lb, http80} }})
	s = scrape(t, r)
	s.wantSeries(t, "sluice_active_connections", pairs(lLB, lb, lListener, https))

	// A Keep with nil functions keeps everything.
	r.Retain(Keep{})
	s = scrape(t, r)
	s.wantSeries(t, "sluice_target_requests_total", pairs(lLB, lb, lGroup, api, lTarget, target1))

	r.Retain(Keep{Target: func(k TargetKey) bool { return k != TargetKey{lb, api, target1} }})
	s = scrape(t, r)
	if n := len(s.series("sluice_target_requests_total")); n != 0 {
		t.Errorf("Retain left %d target series", n)
	}
	s.wantSeries(t, "sluice_target_response_time_seconds", pairs(lLB, lb, lGroup, api))

	r.Request(script[0])
	r.Retain(Keep{
		TargetGroup: func(k GroupKey) bool { return k != GroupKey{lb, api} },
		Target:      func(k TargetKey) bool { return k.LoadBalancer != lb || k.TargetGroup != api },
	})
	s = scrape(t, r)
	for _, f := range []string{"sluice_target_requests_total", "sluice_target_response_time_seconds", "sluice_target_http_responses_total"} {
		if n := len(s.series(f)); n != 0 {
			t.Errorf("Retain left %d %s series", n, f)
		}
	}
	// A series recreated after pruning starts from zero.
	r.Request(script[0])
	s = scrape(t, r)
	s.want(t, 1, "sluice_target_requests_total", lLB, lb, lGroup, api, lTarget, target1)
	s.want(t, 17, "sluice_requests_total", lLB, lb, lListener, https)
}

// TestConcurrent records from many goroutines while scraping and pruning,
// then checks nothing was lost; run it with -race.
func TestConcurrent(t *testing.T) {
	r := New()
	const workers, perWorker = 8, 500
	e := entry(3*ms, func(e *accesslog.Entry) { forward(e, target1, 200, 200, 2*ms) })
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			retry := entry(3*ms, func(e *accesslog.Entry) {
				forward(e, target2, 200, 200, 2*ms)
				e.TargetList = []string{target1, target2}
			})
			for range perWorker {
				r.ConnOpened(lb, https)
				r.Request(e)
				r.Request(retry)
				r.TargetConnError(lb, api, target2)
				r.ConnClosed(lb, https)
				if w == 0 {
					r.ACME("example.com", true)
				}
			}
		})
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			scrape(t, r)
			r.Retain(Keep{Listener: func(ListenerKey) bool { return true }, Target: func(TargetKey) bool { return true }})
		}
	})
	wg.Wait()
	close(stop)
	bg.Wait()

	s := scrape(t, r)
	const n = workers * perWorker
	s.want(t, 2*n, "sluice_requests_total", lLB, lb, lListener, https)
	s.want(t, 2*n, "sluice_http_responses_total", lLB, lb, lListener, https, lOrigin, "target", lCodeClass, "2xx")
	s.want(t, 2*n, "sluice_target_requests_total", lLB, lb, lGroup, api, lTarget, target1)
	s.want(t, n, "sluice_target_requests_total", lLB, lb, lGroup, api, lTarget, target2)
	s.want(t, n, "sluice_target_connection_errors_total", lLB, lb, lGroup, api, lTarget, target2)
	s.want(t, 0, "sluice_active_connections", lLB, lb, lListener, https)
	s.want(t, n, "sluice_new_connections_total", lLB, lb, lListener, https)
	s.want(t, perWorker, "sluice_acme_issuance_total", lCertificate, "example.com", lResult, "success")
	s.wantHistogram(t, 2*n, 2*n*0.003,
		[]uint64{0, 0, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n, 2 * n},
		"sluice_request_duration_seconds", lLB, lb, lListener, https)
}

func TestRequestAllocs(t *testing.T) {
	r := New()
	for _, e := range script {
		r.Request(e)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, e := range script {
			r.Request(e)
		}
	})
	if allocs != 0 {
		t.Errorf("Request allocates %v times per script run once its series exist, want 0", allocs)
	}
}

func TestHandler(t *testing.T) {
	r := New()
	r.Request(script[0])
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	t.Run("text", func(t *testing.T) {
		s := scrape(t, r)
		for _, f := range []string{"go_goroutines", "process_cpu_seconds_total", "sluice_requests_total"} {
			if _, ok := s[f]; !ok {
				t.Errorf("%s missing", f)
			}
		}
	})
	t.Run("OpenMetrics", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
			t.Errorf("Content-Type %q, want OpenMetrics", ct)
		}
		for _, want := range []string{
			"# TYPE sluice_requests counter\n",
			`sluice_requests_total{listener="web:443",load_balancer="web"} 1.0` + "\n",
			"# EOF\n",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("OpenMetrics exposition lacks %q", want)
			}
		}
	})
}
