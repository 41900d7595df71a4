package balancer

import "github.com/sluicelb/sluice/internal/target"

// defaultPolicy serves groups built without a Policy. Its turn counter is
// shared by all of them, so their rotation is fair but not exact.
var defaultPolicy = &roundRobin{ss: newSlowStart(PolicyOptions{})}

// Group is one target group as the data plane sees it in a snapshot. It is
// immutable once built and safe for concurrent use.
type Group struct {
	// Name is the target group's name.
	Name string
	// Targets are the registered, non-draining targets. A draining target
	// is left out: it gets no new requests.
	Targets []*target.Target
	// Policy chooses among the candidates. Nil means round robin with a
	// turn counter shared by every group without a policy; use NewPolicy
	// for an exact rotation.
	Policy Policy
	// MinHealthyCount is the fail-open threshold: with fewer routable
	// targets than this the group routes to all of them. Zero means 1.
	MinHealthyCount int
	// MinHealthyPercent is the same threshold as a percentage of the
	// registered targets, rounded up. Zero means off.
	MinHealthyPercent int
}

// Pick chooses a target for a new request, skipping exclude (nil for a first
// attempt; the failed target for a retry). It returns nil only when the group
// has no targets, which the caller answers with 503.
//
// When fewer targets are routable (healthy, or with health checks disabled)
// than the group's minimums, the group fails open: every registered target
// is a candidate regardless of health, as on ALB, and failOpen is true.
// If exclude is the only candidate, Pick returns it: the caller may retry
// the same target or give up.
func (g *Group) Pick(exclude *target.Target) (t *target.Target, failOpen bool) {
	if len(g.Targets) == 0 {
		return nil, false
	}
	p := g.Policy
	if p == nil {
		p = defaultPolicy
	}
	c := Candidates{all: g.Targets, exclude: exclude, failOpen: g.FailingOpen()}
	if t = p.Pick(c); t != nil {
		return t, c.failOpen
	}
	if exclude != nil {
		c.exclude = nil
		if t = p.Pick(c); t != nil {
			return t, c.failOpen
		}
	}
	// The last routable target turned unhealthy since FailingOpen looked.
	c.failOpen = true
	return p.Pick(c), true
}

// FailingOpen reports whether fewer targets are routable than the group's
// minimums, so that every registered target is a candidate. It stops
// counting as soon as the minimums are met.
func (g *Group) FailingOpen() bool {
	n := len(g.Targets)
	need := max(g.MinHealthyCount, 1)
	if p := g.MinHealthyPercent; p > 0 {
		need = max(need, (p*n+99)/100)
	}
	routable := 0
	for _, t := range g.Targets {
		if t.Routable() {
			if routable++; routable >= need {
				return false
			}
		}
	}
	return true
}

// Lookup finds the registered target with key k. It scans the targets, which
// for the group sizes ALB allows costs less than building an index per
// snapshot.
func (g *Group) Lookup(k target.Key) (*target.Target, bool) {
	for _, t := range g.Targets {
		if t.Key == k {
			return t, true
		}
	}
	return nil, false
}

// Eligible reports whether Pick would consider t, one of g.Targets, now: it
// is routable or the group is failing open.
func (g *Group) Eligible(t *target.Target) bool {
	return t.Routable() || g.FailingOpen()
}

// Sticky returns the target a stickiness cookie names if it is still
// registered and eligible. Otherwise the cookie is to be ignored: the caller
// picks a new target and rewrites the cookie.
func (g *Group) Sticky(k target.Key) (*target.Target, bool) {
	t, ok := g.Lookup(k)
	if !ok || !g.Eligible(t) {
		return nil, false
	}
	return t, true
}
