// Package target holds the runtime state of a registered target: its health
// (state, reason code, description), its outstanding request count and the
// upstream connections open to it.
//
// A Target outlives configuration snapshots: when a reload keeps a target,
// the new snapshot reuses the same *Target (see Registry), so its health,
// counters and open connections carry over untouched.
package target

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// State is a target's health state, as in describe-target-health.
type State string

// Target states.
const (
	StateInitial     State = "initial"
	StateHealthy     State = "healthy"
	StateUnhealthy   State = "unhealthy"
	StateUnused      State = "unused"
	StateDraining    State = "draining"
	StateUnavailable State = "unavailable"
)

// Reason is a health reason code, as in describe-target-health.
type Reason string

// Reason codes.
const (
	ReasonNone                     Reason = ""
	ReasonRegistrationInProgress   Reason = "Elb.RegistrationInProgress"
	ReasonInitialHealthChecking    Reason = "Elb.InitialHealthChecking"
	ReasonResponseCodeMismatch     Reason = "Target.ResponseCodeMismatch"
	ReasonTimeout                  Reason = "Target.Timeout"
	ReasonFailedHealthChecks       Reason = "Target.FailedHealthChecks"
	ReasonNotRegistered            Reason = "Target.NotRegistered"
	ReasonNotInUse                 Reason = "Target.NotInUse"
	ReasonDeregistrationInProgress Reason = "Target.DeregistrationInProgress"
	ReasonHealthCheckDisabled      Reason = "Target.HealthCheckDisabled"
)

// Health is a target's health at one moment. Values are immutable once
// published with SetHealth.
type Health struct {
	State       State
	Reason      Reason
	Description string
	// Since is when the target entered State.
	Since time.Time
}

// Key identifies a target within the process: its group, address and port.
type Key struct {
	Group string
	ID    string
	Port  int
}

// String formats the key as group/id:port.
func (k Key) String() string { return k.Group + "/" + net.JoinHostPort(k.ID, strconv.Itoa(k.Port)) }

// Target is one registered target's runtime state.
type Target struct {
	Key Key
	// Addr is the host:port to dial.
	Addr string

	health      atomic.Pointer[Health]
	outstanding atomic.Int64
	// healthySince is the unix-nano time the target last became healthy,
	// for slow start; 0 when not healthy.
	healthySince atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// closed is set once the target's drain ended; new connections are
	// closed at once.
	closed bool
}

// New returns a target in state initial (Elb.RegistrationInProgress).
func New(k Key, now time.Time) *Target {
	t := &Target{Key: k, Addr: net.JoinHostPort(k.ID, strconv.Itoa(k.Port))}
	t.health.Store(&Health{State: StateInitial, Reason: ReasonRegistrationInProgress,
		Description: "Target registration is in progress", Since: now})
	return t
}

// Health returns the current health. The pointer identifies one published
// value: a writer that wants to know whether somebody else changed the state
// since it last looked compares pointers.
func (t *Target) Health() *Health { return t.health.Load() }

// SetHealth publishes h and returns the previous value. It keeps the slow
// start clock: entering healthy starts it, leaving healthy clears it.
func (t *Target) SetHealth(h Health) (old *Health) {
	old = t.health.Swap(&h)
	t.noteSlowStart(old, &h)
	return old
}

// noteSlowStart keeps the slow start clock: entering healthy starts it,
// leaving healthy clears it.
func (t *Target) noteSlowStart(old, h *Health) {
	switch {
	case h.State == StateHealthy && old.State != StateHealthy:
		t.healthySince.Store(h.Since.UnixNano())
	case h.State != StateHealthy:
		t.healthySince.Store(0)
	}
}

// CompareAndSetHealth publishes h only if the current value is still old.
func (t *Target) CompareAndSetHealth(old *Health, h Health) bool {
	if !t.health.CompareAndSwap(old, &h) {
		return false
	}
	t.noteSlowStart(old, &h)
	return true
}

// Eject marks the target unhealthy at once after a failed connection on the
// request path (passive health checking); active checks bring it back after
// the healthy threshold of consecutive successes.
func (t *Target) Eject(now time.Time, desc string) {
	for {
		old := t.health.Load()
		if old.State == StateUnhealthy || old.State == StateDraining || old.State == StateUnavailable {
			return
		}
		if t.CompareAndSetHealth(old, Health{State: StateUnhealthy, Reason: ReasonFailedHealthChecks,
			Description: desc, Since: now}) {
			return
		}
	}
}

// Routable reports whether the balancer may send new requests to the target
// when its group is not failing open: it is healthy, or its health checks are
// disabled.
func (t *Target) Routable() bool {
	s := t.health.Load().State
	return s == StateHealthy || s == StateUnavailable
}

// HealthySince reports when the target last became healthy, or the zero time
// if it is not healthy.
func (t *Target) HealthySince() time.Time {
	n := t.healthySince.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Outstanding reports the requests in flight to the target.
func (t *Target) Outstanding() int64 { return t.outstanding.Load() }

// Begin counts a request sent to the target; call End when it completes.
func (t *Target) Begin() { t.outstanding.Add(1) }

// End counts a request to the target as complete.
func (t *Target) End() { t.outstanding.Add(-1) }

// TrackConn records an upstream connection so that CloseConns can close it
// when the target's drain ends. It returns false, having closed c, if the
// target has already been closed.
func (t *Target) TrackConn(c net.Conn) bool {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		// Closed outside the lock: c's Close may untrack itself.
		c.Close()
		return false
	}
	if t.conns == nil {
		t.conns = make(map[net.Conn]struct{})
	}
	t.conns[c] = struct{}{}
	t.mu.Unlock()
	return true
}

// UntrackConn forgets c after it closed.
func (t *Target) UntrackConn(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// OpenConns reports how many upstream connections are open to the target.
func (t *Target) OpenConns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// CloseConns closes every upstream connection to the target, ending any
// tunnel (WebSocket) through them, and refuses new ones. It is the end of a
// drain.
func (t *Target) CloseConns() {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}
