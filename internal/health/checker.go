package health

import (
	"context"
	"sync"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/target"
)

// checker probes one target on a schedule and publishes its health.
type checker struct {
	m *Manager
	t *target.Target
	// ctx ends when the checker stops, cancelling a probe in flight.
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	group     string
	set       Settings // defaults applied
	timer     clock.Timer
	gen       int // bumped on every schedule; a tick of an older one is stale
	lastStart time.Time
	stopped   bool

	// probing is held while a probe runs and its result is recorded, so a
	// target never has two probes at once.
	probing sync.Mutex
	last    *target.Health // the health the streak belongs to; guarded by probing
	st      streak         // guarded by probing
}

func newChecker(m *Manager, group string, set Settings, t *target.Target) *checker {
	c := &checker{m: m, t: t, group: group, set: set}
	c.ctx, c.cancel = context.WithCancel(m.ctx)
	return c
}

// start publishes the target's starting state and, with checks enabled,
// schedules the first probe at once. c.mu must be held.
func (c *checker) start() {
	now := c.m.clock.Now()
	if !c.set.Enabled {
		c.publish(func(cur *target.Health) (target.Health, bool) {
			return disabled(now), cur.State != target.StateDraining &&
				(cur.State != target.StateUnavailable || cur.Reason != target.ReasonHealthCheckDisabled)
		})
		return
	}
	c.publish(func(cur *target.Health) (target.Health, bool) {
		switch cur.State {
		case target.StateInitial:
			return checking(cur.Since), cur.Reason != target.ReasonInitialHealthChecking
		case target.StateUnavailable, target.StateUnused:
			return checking(now), true
		}
		// Healthy and unhealthy carry over; draining is the caller's.
		return *cur, false
	})
	c.schedule(0)
}

// schedule arms the next tick d from now, replacing any armed one. c.mu
// must be held.
func (c *checker) schedule(d time.Duration) {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.gen++
	gen := c.gen
	c.timer = c.m.clock.AfterFunc(d, func() { c.tick(gen) })
}

// update applies a group's new settings, keeping the target's state.
func (c *checker) update(group string, set Settings) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	old := c.set
	c.group, c.set = group, set
	switch {
	case old.Enabled != set.Enabled:
		if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
		c.start()
	case set.Enabled && set.Interval != old.Interval:
		c.schedule(max(0, c.lastStart.Add(set.Interval).Sub(c.m.clock.Now())))
	}
}

// stop ends the schedule and cancels a probe in flight; the target's state
// is left as it is.
func (c *checker) stop() {
	c.mu.Lock()
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	c.cancel()
}

// tick starts a probe and arms the next tick one interval after this
// probe's start, so a slow probe does not shift the schedule. If the
// previous probe is still running, the tick is skipped.
func (c *checker) tick(gen int) {
	c.mu.Lock()
	if c.stopped || gen != c.gen || !c.set.Enabled {
		c.mu.Unlock()
		return
	}
	c.lastStart = c.m.clock.Now()
	c.schedule(c.set.Interval)
	set := c.set
	// Close waits for this probe; Add happens before Close marks c stopped.
	c.m.wg.Add(1)
	c.mu.Unlock()
	defer c.m.wg.Done()

	if !c.probing.TryLock() {
		return
	}
	defer c.probing.Unlock()
	c.run(c.ctx, set)
}

// run probes the target and records the result. c.probing must be held.
// It returns the probe's result, or an error if no result was recorded.
func (c *checker) run(ctx context.Context, set Settings) (result, error) {
	if c.t.Health().State == target.StateDraining {
		return result{}, ErrDraining
	}
	r := probe(ctx, c.m.dial, c.t, set)
	if err := ctx.Err(); err != nil {
		// Stopped, closed, or the caller gave up: the result says
		// nothing about the target.
		return r, err
	}
	c.record(r)
	return r, nil
}

// record feeds a probe result to the state machine and publishes the new
// health, unless somebody else changed it meanwhile. c.probing must be held.
func (c *checker) record(r result) {
	cur := c.t.Health()
	c.mu.Lock()
	live, set := !c.stopped && c.set.Enabled, c.set
	c.mu.Unlock()
	if !live || cur.State == target.StateDraining {
		return
	}
	if cur != c.last {
		// A state we did not publish (ejected, re-registered, or our
		// start): the streak starts over.
		c.last, c.st = cur, streak{}
	}
	c.st.add(r)
	next, change := transition(*cur, r, c.st, set, c.m.clock.Now())
	if !change {
		return
	}
	if !c.t.CompareAndSetHealth(cur, next) {
		// Changed under us (passive ejection); the next probe sees the
		// new pointer and starts a new streak.
		return
	}
	c.m.logChange(c.groupName(), c.t, *cur, next)
	if p := c.t.Health(); *p == next {
		c.last = p
	} else {
		c.last = nil
	}
}

func (c *checker) groupName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.group
}

// publish sets the target's health to what f derives from the current
// value, retrying if it changes concurrently; f returns false to leave it.
// c.mu must be held.
func (c *checker) publish(f func(cur *target.Health) (target.Health, bool)) {
	for {
		cur := c.t.Health()
		next, ok := f(cur)
		if !ok {
			return
		}
		if c.t.CompareAndSetHealth(cur, next) {
			c.m.logChange(c.group, c.t, *cur, next)
			return
		}
	}
}
