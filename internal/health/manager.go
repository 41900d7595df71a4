package health

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/target"
)

// Errors CheckNow returns when it runs no probe.
var (
	ErrNotChecked = errors.New("health: target is not checked by this manager")
	ErrDisabled   = errors.New("health: health checks are disabled for the target's group")
	ErrDraining   = errors.New("health: target is draining")
)

// CheckError is a failed health check, as the target's health shows it.
type CheckError struct {
	Reason      target.Reason
	Description string
}

func (e *CheckError) Error() string { return string(e.Reason) + ": " + e.Description }

// Manager runs the health checkers of every target it is given with Sync.
// Its methods are safe for concurrent use.
type Manager struct {
	clock clock.Clock
	log   *slog.Logger
	dial  dialFunc
	// ctx ends at Close, cancelling probes in flight.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts probes in flight.
	wg sync.WaitGroup

	mu       sync.Mutex
	checkers map[*target.Target]*checker
	closed   bool
}

// NewManager returns a manager checking nothing until Sync.
func NewManager(o Options) *Manager {
	m := &Manager{clock: o.Clock, log: o.Logger, dial: o.Dial,
		checkers: make(map[*target.Target]*checker)}
	if m.clock == nil {
		m.clock = clock.Real{}
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.dial == nil {
		m.dial = (&net.Dialer{}).DialContext
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// Sync makes the manager check exactly the given groups' targets. New
// targets start being checked (initial, Elb.InitialHealthChecking, first
// probe at once); targets no longer listed stop being checked and keep
// their state, which is the caller's to change (draining); targets still
// listed pick up their group's current settings without losing their
// state. Each reload calls Sync with the full set. A target listed twice
// is checked with the first group's settings. Sync after Close does
// nothing.
func (m *Manager) Sync(groups []GroupSpec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	seen := make(map[*target.Target]bool)
	for _, g := range groups {
		set := g.Settings.withDefaults()
		for _, t := range g.Targets {
			if t == nil || seen[t] {
				continue
			}
			seen[t] = true
			if c := m.checkers[t]; c != nil {
				c.update(g.Name, set)
				continue
			}
			c := newChecker(m, g.Name, set, t)
			c.mu.Lock()
			c.start()
			c.mu.Unlock()
			m.checkers[t] = c
		}
	}
	for t, c := range m.checkers {
		if !seen[t] {
			c.stop()
			delete(m.checkers, t)
		}
	}
}

// Close stops every checker, cancels probes in flight and waits for them.
// Targets keep their state.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	for t, c := range m.checkers {
		c.stop()
		delete(m.checkers, t)
	}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// CheckNow runs one probe of t synchronously, after any probe of t in
// flight, and records the result as a scheduled probe would. It returns nil
// if the check passed, a *CheckError if it failed, ErrNotChecked,
// ErrDisabled or ErrDraining if no probe ran, or ctx's error if ctx ended
// first (the result is then not recorded).
func (m *Manager) CheckNow(ctx context.Context, t *target.Target) error {
	m.mu.Lock()
	c := m.checkers[t]
	m.mu.Unlock()
	if c == nil {
		return ErrNotChecked
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return ErrNotChecked
	}
	if !c.set.Enabled {
		c.mu.Unlock()
		return ErrDisabled
	}
	set := c.set
	m.wg.Add(1)
	c.mu.Unlock()
	defer m.wg.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()

	c.probing.Lock()
	defer c.probing.Unlock()
	r, err := c.run(ctx, set)
	switch {
	case err != nil:
		return err
	case !r.ok:
		return &CheckError{Reason: r.reason, Description: r.desc}
	}
	return nil
}

// Counts reports how many of group's checked targets are healthy and how
// many unhealthy.
func (m *Manager) Counts(group string) (healthy, unhealthy int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for t, c := range m.checkers {
		if c.groupName() != group {
			continue
		}
		switch t.Health().State {
		case target.StateHealthy:
			healthy++
		case target.StateUnhealthy:
			unhealthy++
		}
	}
	return healthy, unhealthy
}

// logChange logs a published health change: state changes at info, a new
// reason within the same state at debug.
func (m *Manager) logChange(group string, t *target.Target, from, to target.Health) {
	level := slog.LevelInfo
	if from.State == to.State {
		level = slog.LevelDebug
	}
	m.log.Log(context.Background(), level, "target health changed",
		"target_group", group,
		"target", net.JoinHostPort(t.Key.ID, strconv.Itoa(t.Key.Port)),
		"from", string(from.State),
		"to", string(to.State),
		"reason", string(to.Reason),
		"description", to.Description)
}
