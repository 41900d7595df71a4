package target

import (
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
)

// Registry hands out one *Target per key across configuration snapshots and
// drains the targets that a new snapshot no longer registers: they get no new
// requests, requests and tunnels in flight may finish until the group's
// deregistration delay ends, and then their connections are closed.
type Registry struct {
	clock clock.Clock
	log   *slog.Logger

	mu       sync.Mutex
	live     map[Key]*Target
	delays   map[Key]time.Duration
	draining map[Key]*drain
}

type drain struct {
	t     *Target
	timer clock.Timer
	until time.Time
}

// NewRegistry returns an empty registry. A nil clock means the wall clock; a
// nil logger means slog.Default().
func NewRegistry(c clock.Clock, log *slog.Logger) *Registry {
	if c == nil {
		c = clock.Real{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Registry{clock: c, log: log, live: map[Key]*Target{}, draining: map[Key]*drain{}}
}

// Apply makes want the set of registered targets. Each value is the
// deregistration delay that applies if the target later leaves. It returns
// the targets for want, reusing existing ones (a draining target registered
// again is revived with its connections intact) and starts draining every
// previously registered target not in want, each for the delay it was
// registered with.
func (r *Registry) Apply(want map[Key]time.Duration) map[Key]*Target {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[Key]*Target, len(want))
	for k := range want {
		if t, ok := r.live[k]; ok {
			out[k] = t
			continue
		}
		if d, ok := r.draining[k]; ok {
			d.timer.Stop()
			delete(r.draining, k)
			d.t.SetHealth(Health{State: StateInitial, Reason: ReasonRegistrationInProgress,
				Description: "Target registration is in progress", Since: now})
			r.log.Info("target registered again while draining", "target", k.String())
			out[k] = d.t
			continue
		}
		out[k] = New(k, now)
	}
	for k, t := range r.live {
		if _, ok := want[k]; ok {
			continue
		}
		r.startDrain(t, r.delays[k], now)
	}
	r.live = out
	r.delays = want
	return out
}

func (r *Registry) startDrain(t *Target, delay time.Duration, now time.Time) {
	t.SetHealth(Health{State: StateDraining, Reason: ReasonDeregistrationInProgress,
		Description: "Target deregistration is in progress", Since: now})
	r.log.Info("target draining", "target", t.Key.String(), "deregistration_delay", delay.String(),
		"in_flight", t.Outstanding())
	d := &drain{t: t, until: now.Add(delay)}
	r.draining[t.Key] = d
	r.scheduleCheck(d, now)
}

// drainCheck is how often a draining target is checked for requests in
// flight. It is also the grace period before a drain can end early: a
// request routed by the previous configuration may be about to start.
const drainCheck = time.Second

// scheduleCheck arms the drain's next check: at its deadline, or sooner to
// see whether the target has nothing in flight any more, in which case the
// drain ends early, as on ALB.
func (r *Registry) scheduleCheck(d *drain, now time.Time) {
	wait := min(d.until.Sub(now), drainCheck)
	d.timer = r.clock.AfterFunc(max(wait, 0), func() {
		now := r.clock.Now()
		if !now.Before(d.until) || d.t.Outstanding() == 0 {
			r.endDrain(d)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.draining[d.t.Key] == d {
			r.scheduleCheck(d, now)
		}
	})
}

func (r *Registry) endDrain(d *drain) {
	r.mu.Lock()
	if r.draining[d.t.Key] != d {
		r.mu.Unlock()
		return // registered again meanwhile
	}
	delete(r.draining, d.t.Key)
	r.mu.Unlock()
	d.t.SetHealth(Health{State: StateUnused, Reason: ReasonNotRegistered,
		Description: "Target is not registered to the target group", Since: r.clock.Now()})
	n := d.t.OpenConns()
	d.t.CloseConns()
	r.log.Info("target drained", "target", d.t.Key.String(), "closed_connections", n)
}

// Draining lists the targets being drained, with when each drain ends,
// sorted by key.
func (r *Registry) Draining() []DrainingTarget {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]DrainingTarget, 0, len(r.draining))
	for _, d := range r.draining {
		out = append(out, DrainingTarget{Target: d.t, Until: d.until})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target.Key.String() < out[j].Target.Key.String() })
	return out
}

// Group returns the registered targets of the named group, sorted by key.
func (r *Registry) Group(name string) []*Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Target
	for k, t := range r.live {
		if k.Group == name {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

// DrainingTarget is a target being drained and the end of its drain.
type DrainingTarget struct {
	Target *Target
	Until  time.Time
}

// Close ends every drain at once, closing the drained targets' connections,
// and closes every live target's connections. Use it at process exit after
// requests in flight had their chance to finish.
func (r *Registry) Close() {
	r.mu.Lock()
	ds := r.draining
	r.draining = map[Key]*drain{}
	live := r.live
	r.mu.Unlock()
	for _, d := range ds {
		d.timer.Stop()
		d.t.CloseConns()
	}
	for _, t := range live {
		t.CloseConns()
	}
}
