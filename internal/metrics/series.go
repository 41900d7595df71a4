package metrics

import (
	"math"
	"sync/atomic"
	"time"
)

// buckets are the upper bounds of both latency histograms: from a
// millisecond (a cached answer next door) to a minute (a slow upload, a long
// poll). Observations above the last bound land in +Inf.
var buckets = [...]time.Duration{
	1 * time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	1 * time.Second, 2500 * time.Millisecond, 5 * time.Second,
	10 * time.Second, 30 * time.Second, 60 * time.Second,
}

// histogram is a fixed-bucket histogram of durations. counts are per bucket,
// not cumulative (the last is +Inf), so an observation is two atomic
// operations; Collect accumulates them.
type histogram struct {
	counts  [len(buckets) + 1]atomic.Uint64
	sumBits atomic.Uint64 // float64 seconds
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(buckets) && d > buckets[i] {
		i++
	}
	h.counts[i].Add(1)
	// A float sum, as client_golang keeps it: integer nanoseconds would
	// overflow within weeks on a busy WebSocket listener.
	v := d.Seconds()
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Response origins and code classes, as array indexes.
const (
	originELB = iota
	originTarget
	numOrigins
)

var (
	originLabels    = [numOrigins]string{"elb", "target"}
	codeClassLabels = [...]string{"2xx", "3xx", "4xx", "5xx"}
)

// codeClass returns the index into codeClassLabels of status, or -1 for
// 1xx and anything out of range.
func codeClass(status int) int {
	if status < 200 || status > 599 {
		return -1
	}
	return status/100 - 2
}

// elbCodeLabels are the exact codes ALB documents for responses it generates,
// then "other".
var elbCodeLabels = [...]string{
	"400", "405", "408", "413", "414", "460", "463", "464",
	"500", "501", "502", "503", "504", "505", "other",
}

const elbCodeOther = len(elbCodeLabels) - 1

func elbCodeIndex(status int) int {
	switch status {
	case 400:
		return 0
	case 405:
		return 1
	case 408:
		return 2
	case 413:
		return 3
	case 414:
		return 4
	case 460:
		return 5
	case 463:
		return 6
	case 464:
		return 7
	case 500:
		return 8
	case 501:
		return 9
	case 502:
		return 10
	case 503:
		return 11
	case 504:
		return 12
	case 505:
		return 13
	}
	return elbCodeOther
}

// Traffic directions for ProcessedBytes.
var directionLabels = [...]string{"received", "sent"}

// Desync classifications that are not compliant, as the access log spells
// them.
var classificationLabels = [...]string{"Acceptable", "Ambiguous", "Severe"}

func classificationIndex(c string) int {
	switch c {
	case "Acceptable":
		return 0
	case "Ambiguous":
		return 1
	case "Severe":
		return 2
	}
	return -1
}

// ListenerKey names a listener's series.
type ListenerKey struct{ LoadBalancer, Listener string }

// GroupKey names a target group's series.
type GroupKey struct{ LoadBalancer, TargetGroup string }

// TargetKey names a target's series; the same host:port in two groups is two
// targets.
type TargetKey struct{ LoadBalancer, TargetGroup, Target string }

// listenerSeries holds everything counted per listener.
type listenerSeries struct {
	requests  atomic.Uint64
	responses [numOrigins][len(codeClassLabels)]atomic.Uint64
	elbCodes  [len(elbCodeLabels)]atomic.Uint64
	bytes     [len(directionLabels)]atomic.Uint64
	redirects atomic.Uint64
	fixed     atomic.Uint64
	ruleEvals atomic.Uint64
	desync    [len(classificationLabels)]atomic.Uint64
	nonSticky atomic.Uint64
	duration  histogram
	active    atomic.Int64
	newConns  atomic.Uint64
	rejected  atomic.Uint64
	tlsErrors atomic.Uint64
}

// groupSeries holds everything counted per target group.
type groupSeries struct {
	responses    [len(codeClassLabels)]atomic.Uint64
	responseTime histogram
}

// targetSeries holds everything counted per target.
type targetSeries struct {
	requests   atomic.Uint64
	connErrors atomic.Uint64
	tlsErrors  atomic.Uint64
}

// resultSeries counts successes and failures (ACME issuance, config
// reloads).
type resultSeries struct {
	ok, failed atomic.Uint64
}

func (s *resultSeries) add(ok bool) {
	if ok {
		s.ok.Add(1)
	} else {
		s.failed.Add(1)
	}
}
