package metrics

import (
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// bucketBounds are buckets in seconds, as the exposition wants them.
var bucketBounds = func() (b [len(buckets)]float64) {
	for i, d := range buckets {
		b[i] = d.Seconds()
	}
	return b
}()

// Describe sends the descriptors of every family the Registry exports.
func (r *Registry) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range families {
		ch <- f.desc
	}
}

// Collect reads every series into constant metrics. Counters are read one by
// one while requests keep landing, so a scrape is not a snapshot of one
// instant; each value is still exact and monotonic.
func (r *Registry) Collect(ch chan<- prometheus.Metric) {
	r.listeners.Range(func(k, v any) bool {
		collectListener(ch, k.(ListenerKey), v.(*listenerSeries))
		return true
	})
	r.groups.Range(func(k, v any) bool {
		key, s := k.(GroupKey), v.(*groupSeries)
		for c := range s.responses {
			counter(ch, famTargetResponses, &s.responses[c], key.LoadBalancer, key.TargetGroup, codeClassLabels[c])
		}
		collectHistogram(ch, famTargetResponseTime, &s.responseTime, key.LoadBalancer, key.TargetGroup)
		return true
	})
	r.targets.Range(func(k, v any) bool {
		key, s := k.(TargetKey), v.(*targetSeries)
		counter(ch, famTargetRequests, &s.requests, key.LoadBalancer, key.TargetGroup, key.Target)
		counter(ch, famTargetConnErrors, &s.connErrors, key.LoadBalancer, key.TargetGroup, key.Target)
		counter(ch, famTargetTLSErrors, &s.tlsErrors, key.LoadBalancer, key.TargetGroup, key.Target)
		return true
	})
	r.acme.Range(func(k, v any) bool {
		s := v.(*resultSeries)
		counter(ch, famACME, &s.ok, k.(string), "success")
		counter(ch, famACME, &s.failed, k.(string), "failure")
		return true
	})
	r.reloads.Range(func(k, v any) bool {
		s := v.(*resultSeries)
		counter(ch, famConfigReloads, &s.ok, k.(string), "success")
		counter(ch, famConfigReloads, &s.failed, k.(string), "failure")
		return true
	})
	if ns := r.lastReload.Load(); ns != 0 {
		ch <- prometheus.MustNewConstMetric(famConfigLastSuccess.desc, prometheus.GaugeValue, float64(ns)/1e9)
	}
	if f := r.logDropped.Load(); f != nil {
		ch <- prometheus.MustNewConstMetric(famAccessLogDropped.desc, prometheus.CounterValue, float64((*f)()))
	}
	if f := r.state.Load(); f != nil {
		collectState(ch, (*f)())
	}
}

func collectListener(ch chan<- prometheus.Metric, k ListenerKey, s *listenerSeries) {
	lb, l := k.LoadBalancer, k.Listener
	counter(ch, famRequests, &s.requests, lb, l)
	for o := range s.responses {
		for c := range s.responses[o] {
			counter(ch, famResponses, &s.responses[o][c], lb, l, originLabels[o], codeClassLabels[c])
		}
	}
	for i := range s.elbCodes {
		counter(ch, famELBCodes, &s.elbCodes[i], lb, l, elbCodeLabels[i])
	}
	for i := range s.bytes {
		counter(ch, famProcessedBytes, &s.bytes[i], lb, l, directionLabels[i])
	}
	counter(ch, famRedirects, &s.redirects, lb, l)
	counter(ch, famFixedResponses, &s.fixed, lb, l)
	counter(ch, famRuleEvaluations, &s.ruleEvals, lb, l)
	for i := range s.desync {
		counter(ch, famDesync, &s.desync[i], lb, l, classificationLabels[i])
	}
	counter(ch, famNonSticky, &s.nonSticky, lb, l)
	collectHistogram(ch, famRequestDuration, &s.duration, lb, l)
	ch <- prometheus.MustNewConstMetric(famActiveConns.desc, prometheus.GaugeValue, float64(s.active.Load()), lb, l)
	counter(ch, famNewConns, &s.newConns, lb, l)
	counter(ch, famRejectedConns, &s.rejected, lb, l)
	counter(ch, famClientTLSErrors, &s.tlsErrors, lb, l)
}

func counter(ch chan<- prometheus.Metric, f *family, v *atomic.Uint64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, float64(v.Load()), labels...)
}

func collectHistogram(ch chan<- prometheus.Metric, f *family, h *histogram, labels ...string) {
	cumulative := make(map[float64]uint64, len(bucketBounds))
	var n uint64
	for i, le := range bucketBounds {
		n += h.counts[i].Load()
		cumulative[le] = n
	}
	n += h.counts[len(buckets)].Load()
	sum := math.Float64frombits(h.sumBits.Load())
	ch <- prometheus.MustNewConstHistogram(f.desc, n, sum, cumulative, labels...)
}

// collectState exports the scrape-time state. Duplicate entries, which would
// fail the whole scrape, are merged: a group's counts add up, and a
// certificate listed twice reports its earliest expiry.
func collectState(ch chan<- prometheus.Metric, st State) {
	type counts struct{ healthy, unhealthy int }
	groups := make(map[GroupKey]counts, len(st.Groups))
	order := make([]GroupKey, 0, len(st.Groups))
	for _, g := range st.Groups {
		k := GroupKey{g.LoadBalancer, g.TargetGroup}
		c, seen := groups[k]
		if !seen {
			order = append(order, k)
		}
		groups[k] = counts{c.healthy + g.Healthy, c.unhealthy + g.Unhealthy}
	}
	for _, k := range order {
		c := groups[k]
		ch <- prometheus.MustNewConstMetric(famHealthy.desc, prometheus.GaugeValue, float64(c.healthy), k.LoadBalancer, k.TargetGroup)
		ch <- prometheus.MustNewConstMetric(famUnhealthy.desc, prometheus.GaugeValue, float64(c.unhealthy), k.LoadBalancer, k.TargetGroup)
	}

	expiry := make(map[string]int64, len(st.Certificates))
	names := make([]string, 0, len(st.Certificates))
	for _, c := range st.Certificates {
		t := c.NotAfter.Unix()
		if old, seen := expiry[c.Name]; !seen {
			names = append(names, c.Name)
		} else if old < t {
			continue
		}
		expiry[c.Name] = t
	}
	for _, n := range names {
		ch <- prometheus.MustNewConstMetric(famCertExpiry.desc, prometheus.GaugeValue, float64(expiry[n]), n)
	}
}
