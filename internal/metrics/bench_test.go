package metrics

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicelb/sluice/internal/accesslog"
)

// benchEntry is a typical forwarded request: one listener, group and target
// among several, so the maps hold more than the one key looked up.
func benchEntry(r *Registry) *accesslog.Entry {
	for i := range 50 {
		n := strconv.Itoa(i)
		r.Request(&accesslog.Entry{
			LoadBalancer: "lb-" + n, Listener: "lb-" + n + ":443",
			TargetGroup: "tg-" + n, Target: "10.0.0." + n + ":8080", TargetStatus: 200, ELBStatus: 200,
		})
	}
	return &accesslog.Entry{
		Type: "https", LoadBalancer: "lb-7", Listener: "lb-7:443",
		RequestCreationTime: t0, Time: t0.Add(18 * time.Microsecond),
		TargetGroup: "tg-7", Target: "10.0.0.7:8080",
		RequestProcessingTime: 2 * time.Microsecond, TargetProcessingTime: 12 * time.Microsecond,
		ResponseProcessingTime: 4 * time.Microsecond,
		ELBStatus:              200, TargetStatus: 200,
		ReceivedBytes: 420, SentBytes: 3100,
		ActionsExecuted: []string{"forward"}, RulesEvaluated: 3, MatchedRulePriority: 10,
	}
}

func BenchmarkRequest(b *testing.B) {
	r := New()
	e := benchEntry(r)
	r.Request(e)
	b.ReportAllocs()
	for b.Loop() {
		r.Request(e)
	}
}

// BenchmarkRequestParallel records into the same series from every P: the
// worst case for the shared atomic counters.
func BenchmarkRequestParallel(b *testing.B) {
	r := New()
	e := benchEntry(r)
	r.Request(e)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Request(e)
		}
	})
}

func BenchmarkScrape(b *testing.B) {
	r := New()
	benchEntry(r)
	b.ReportAllocs()
	for b.Loop() {
		ch := make(chan prometheus.Metric, 4096)
		go func() { r.Collect(ch); close(ch) }()
		for range ch {
		}
	}
}
