// Package balancer picks the target of a target group that serves a request:
// the selection policies (round robin, least outstanding requests, weighted
// random), slow start, fail-open when too few targets are healthy, weighted
// target groups of a forward action, and the encrypted stickiness cookies
// (AWSALB, AWSALBAPP-0, AWSALBTG) that pin a client to a target or a group.
//
// Everything on the request path is allocation-free and safe for concurrent
// use; a Group is built once per configuration snapshot and never modified.
package balancer

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/target"
)

// Load balancing algorithms, as named in a target group's
// load_balancing_algorithm attribute.
const (
	RoundRobin               = "round_robin"
	LeastOutstandingRequests = "least_outstanding_requests"
	WeightedRandom           = "weighted_random"
)

// Policy picks one target from a candidate set. Implementations must be safe
// for concurrent use and must not allocate. Pick returns nil only when no
// candidate is eligible.
type Policy interface {
	Pick(c Candidates) *target.Target
}

// Candidates is the set a policy may choose from: a group's registered
// targets seen through an eligibility filter, so that no slice is built per
// request. Index i is eligible if it is not the excluded target and it is
// routable or the group is failing open.
type Candidates struct {
	all      []*target.Target
	exclude  *target.Target
	failOpen bool
}

// NewCandidates returns the candidates among all: every target except
// exclude (which may be nil) that is routable, or every target except exclude
// when failOpen is set.
func NewCandidates(all []*target.Target, exclude *target.Target, failOpen bool) Candidates {
	return Candidates{all: all, exclude: exclude, failOpen: failOpen}
}

// Len reports the number of targets, eligible or not; indexes run 0..Len-1.
func (c Candidates) Len() int { return len(c.all) }

// At returns target i.
func (c Candidates) At(i int) *target.Target { return c.all[i] }

// Eligible reports whether target i may be picked.
func (c Candidates) Eligible(i int) bool {
	t := c.all[i]
	return t != c.exclude && (c.failOpen || t.Routable())
}

// PolicyOptions tune a policy. The zero value is valid.
type PolicyOptions struct {
	// SlowStart ramps a newly healthy target's share up linearly over this
	// duration. Zero or negative means off. Not supported with
	// least_outstanding_requests.
	SlowStart time.Duration
	// Clock tells the time for slow start. Nil means the wall clock.
	Clock clock.Clock
	// Rand returns uniformly random 64-bit values; it must be safe for
	// concurrent use if the policy is. Nil means math/rand/v2.Uint64.
	Rand func() uint64
}

// NewPolicy returns the policy for algorithm; "" means round_robin.
func NewPolicy(algorithm string, o PolicyOptions) (Policy, error) {
	s := newSlowStart(o)
	switch algorithm {
	case RoundRobin, "":
		return &roundRobin{ss: s}, nil
	case LeastOutstandingRequests:
		if o.SlowStart > 0 {
			return nil, fmt.Errorf("slow_start is not supported with %s", LeastOutstandingRequests)
		}
		return &leastOutstanding{}, nil
	case WeightedRandom:
		return &weightedRandom{ss: s}, nil
	}
	return nil, fmt.Errorf("unknown load balancing algorithm %q (want %s, %s or %s)",
		algorithm, RoundRobin, LeastOutstandingRequests, WeightedRandom)
}

var (
	_ Policy = (*roundRobin)(nil)
	_ Policy = (*leastOutstanding)(nil)
	_ Policy = (*weightedRandom)(nil)
)

// roundRobin hands out turns in index order from a shared counter. A turn
// that lands on an ineligible target, or that a slow-starting target
// declines, is consumed rather than passed on, so the next target does not
// get a double share.
type roundRobin struct {
	next atomic.Uint64
	ss   slowStart
}

func (p *roundRobin) Pick(c Candidates) *target.Target {
	n := uint64(c.Len())
	if n == 0 {
		return nil
	}
	start := p.next.Add(1) - 1
	var now time.Time
	if p.ss.on() {
		now = p.ss.clock.Now()
	}
	for d := uint64(0); d < n; d++ {
		i := int((start + d) % n)
		if !c.Eligible(i) {
			continue
		}
		t := c.At(i)
		if p.ss.on() {
			if w := p.ss.weight(t, now); w < fullWeight && below(p.ss.rand(), fullWeight) >= w {
				continue
			}
		}
		if d > 0 {
			p.next.Add(d)
		}
		return t
	}
	// Every eligible target declined its turn (all are ramping up), or
	// none is eligible: fall back to their weights.
	return p.ss.pickWeighted(c, now)
}

// leastOutstanding picks the eligible target with the fewest requests in
// flight. Ties go to the tied targets in turn.
type leastOutstanding struct {
	next atomic.Uint64
}

func (p *leastOutstanding) Pick(c Candidates) *target.Target {
	best, ties := -1, uint64(0)
	var low int64
	for i := range c.Len() {
		if !c.Eligible(i) {
			continue
		}
		switch o := c.At(i).Outstanding(); {
		case best < 0 || o < low:
			best, low, ties = i, o, 1
		case o == low:
			ties++
		}
	}
	if best < 0 {
		return nil
	}
	if ties > 1 {
		k := (p.next.Add(1) - 1) % ties
		for i := best; i < c.Len(); i++ {
			if c.Eligible(i) && c.At(i).Outstanding() == low {
				if k == 0 {
					return c.At(i)
				}
				k--
			}
		}
		// Loads changed under us; the first minimum is as good.
	}
	return c.At(best)
}

// weightedRandom picks an eligible target at random, each with a weight of
// one except while slow start ramps it up.
type weightedRandom struct {
	ss slowStart
}

func (p *weightedRandom) Pick(c Candidates) *target.Target {
	var now time.Time
	if p.ss.on() {
		now = p.ss.clock.Now()
	}
	return p.ss.pickWeighted(c, now)
}

// Slow start weights are in thousandths of a full share; a target that has
// just become healthy still gets minWeight so that it is not starved.
const (
	fullWeight = 1000
	minWeight  = 10
)

// slowStart computes target weights and holds the policy's randomness.
type slowStart struct {
	dur   time.Duration
	clock clock.Clock
	rand  func() uint64
}

func newSlowStart(o PolicyOptions) slowStart {
	s := slowStart{dur: o.SlowStart, clock: o.Clock, rand: o.Rand}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.rand == nil {
		s.rand = rand.Uint64
	}
	return s
}

func (s *slowStart) on() bool { return s.dur > 0 }

// weight returns t's share at now in thousandths: it grows linearly from
// minWeight to fullWeight over the slow start duration after the target
// became healthy. Targets that are not healthy (health checks disabled, or
// routed to because the group fails open) get a full share.
func (s *slowStart) weight(t *target.Target, now time.Time) uint64 {
	if !s.on() {
		return fullWeight
	}
	since := t.HealthySince()
	if since.IsZero() {
		return fullWeight
	}
	el := now.Sub(since)
	if el >= s.dur {
		return fullWeight
	}
	w := uint64(0)
	if el > 0 {
		hi, lo := bits.Mul64(uint64(el), fullWeight)
		w, _ = bits.Div64(hi, lo, uint64(s.dur))
	}
	return max(w, minWeight)
}

// pickWeighted picks an eligible candidate at random in proportion to its
// weight at now, or returns nil if none is eligible.
func (s *slowStart) pickWeighted(c Candidates, now time.Time) *target.Target {
	var total uint64
	for i := range c.Len() {
		if c.Eligible(i) {
			total += s.weight(c.At(i), now)
		}
	}
	if total == 0 {
		return nil
	}
	r := below(s.rand(), total)
	var last *target.Target
	for i := range c.Len() {
		if !c.Eligible(i) {
			continue
		}
		last = c.At(i)
		w := s.weight(last, now)
		if r < w {
			return last
		}
		r -= w
	}
	// Eligibility changed between the two passes.
	return last
}

// below maps a uniform 64-bit value onto [0, n) without modulo bias worth
// speaking of (Lemire's multiply-shift).
func below(r, n uint64) uint64 {
	hi, _ := bits.Mul64(r, n)
	return hi
}
