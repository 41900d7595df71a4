package target

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
)

var (
	keyA = Key{Group: "g", ID: "10.0.0.1", Port: 80}
	keyB = Key{Group: "g", ID: "10.0.0.2", Port: 80}
	keyC = Key{Group: "h", ID: "10.0.0.1", Port: 80}
)

func newRegistry() (*Registry, *clock.Fake) {
	c := clock.NewFake(epoch)
	return NewRegistry(c, slog.New(slog.NewTextHandler(io.Discard, nil))), c
}

func TestNewRegistryNilDefaults(t *testing.T) {
	r := NewRegistry(nil, nil)
	if _, ok := r.clock.(clock.Real); !ok {
		t.Errorf("nil clock gave %T, want clock.Real", r.clock)
	}
	if r.log != slog.Default() {
		t.Error("nil logger is not slog.Default()")
	}
}

func TestRegistryApplyKeepsTargets(t *testing.T) {
	r, c := newRegistry()
	first := r.Apply(map[Key]time.Duration{keyA: time.Minute, keyB: time.Minute})
	if len(first) != 2 || first[keyA] == nil || first[keyB] == nil {
		t.Fatalf("Apply returned %v", first)
	}
	if first[keyA].Key != keyA || first[keyA].Addr != "10.0.0.1:80" {
		t.Errorf("target A = %+v", first[keyA])
	}
	first[keyA].SetHealth(Health{State: StateHealthy, Since: epoch})
	first[keyA].Begin()

	c.Advance(time.Second)
	second := r.Apply(map[Key]time.Duration{keyA: 30 * time.Second, keyB: time.Minute, keyC: time.Minute})
	tests := []struct {
		name string
		key  Key
		same bool
	}{
		{"kept A", keyA, true},
		{"kept B", keyB, true},
		{"new C", keyC, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := second[tt.key]
			if got == nil {
				t.Fatal("missing")
			}
			if (got == first[tt.key]) != tt.same {
				t.Errorf("same pointer = %v, want %v", got == first[tt.key], tt.same)
			}
			if !tt.same && got.Health().State != StateInitial {
				t.Errorf("new target state = %s", got.Health().State)
			}
		})
	}
	if s := second[keyA].Health().State; s != StateHealthy {
		t.Errorf("kept target's health reset to %s", s)
	}
	if n := second[keyA].Outstanding(); n != 1 {
		t.Errorf("kept target's Outstanding() = %d, want 1", n)
	}
	if d := r.Draining(); len(d) != 0 {
		t.Errorf("Draining() = %v, want none", d)
	}
	if p := c.Pending(); p != 0 {
		t.Errorf("Pending() = %d, want no drain timers", p)
	}
}

func TestRegistryDrain(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
	}{
		{"delay 5m", 5 * time.Minute},
		{"delay 1s", time.Second},
		{"delay 0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, c := newRegistry()
			ts := r.Apply(map[Key]time.Duration{keyA: tt.delay, keyB: time.Hour})
			a := ts[keyA]
			a.SetHealth(Health{State: StateHealthy, Since: epoch})
			conn, closed := pipe(t)
			if !a.TrackConn(conn) {
				t.Fatal("TrackConn = false")
			}
			a.Begin() // a request in flight keeps the drain for its whole delay

			c.Advance(10 * time.Second)
			removedAt := c.Now()
			// The delay that applies is the one A was registered with,
			// even though the new snapshot no longer mentions A.
			r.Apply(map[Key]time.Duration{keyB: time.Hour})

			h := a.Health()
			if h.State != StateDraining || h.Reason != ReasonDeregistrationInProgress || !h.Since.Equal(removedAt) {
				t.Fatalf("health after removal = %+v", *h)
			}
			if a.Routable() {
				t.Error("draining target is routable")
			}
			d := r.Draining()
			if len(d) != 1 || d[0].Target != a || !d[0].Until.Equal(removedAt.Add(tt.delay)) {
				t.Fatalf("Draining() = %+v, want A until %v", d, removedAt.Add(tt.delay))
			}
			if a.OpenConns() != 1 || !isOpen(closed) {
				t.Fatal("drain start closed the target's connections")
			}

			if tt.delay > 0 {
				c.Advance(tt.delay - time.Nanosecond)
				if s := a.Health().State; s != StateDraining {
					t.Fatalf("state %s before the delay ended, want draining", s)
				}
				if !isOpen(closed) {
					t.Fatal("conn closed before the delay ended")
				}
				c.Advance(time.Nanosecond)
			} else {
				c.Advance(0)
			}
			h = a.Health()
			if h.State != StateUnused || h.Reason != ReasonNotRegistered || !h.Since.Equal(removedAt.Add(tt.delay)) {
				t.Errorf("health after drain = %+v", *h)
			}
			if !isClosed(closed) {
				t.Error("tracked conn not closed at the end of the drain")
			}
			if a.OpenConns() != 0 {
				t.Errorf("OpenConns() = %d after drain", a.OpenConns())
			}
			late, lateClosed := pipe(t)
			if a.TrackConn(late) || !isClosed(lateClosed) {
				t.Error("drained target accepted a new connection")
			}
			if d := r.Draining(); len(d) != 0 {
				t.Errorf("Draining() = %+v after drain", d)
			}

			// Registering the key again after the drain gives a new target.
			again := r.Apply(map[Key]time.Duration{keyA: tt.delay, keyB: time.Hour})
			if again[keyA] == a {
				t.Error("a fully drained target was reused")
			}
			if again[keyB] != ts[keyB] {
				t.Error("kept target B was replaced")
			}
		})
	}
}

func TestRegistryDrainingSorted(t *testing.T) {
	r, _ := newRegistry()
	r.Apply(map[Key]time.Duration{keyC: time.Minute, keyB: 2 * time.Minute, keyA: 3 * time.Minute})
	r.Apply(nil)
	d := r.Draining()
	want := []Key{keyA, keyB, keyC}
	if len(d) != len(want) {
		t.Fatalf("Draining() has %d targets, want %d", len(d), len(want))
	}
	for i, k := range want {
		if d[i].Target.Key != k {
			t.Errorf("Draining()[%d] = %v, want %v", i, d[i].Target.Key, k)
		}
		if wantUntil := epoch.Add(time.Duration(3-i) * time.Minute); !d[i].Until.Equal(wantUntil) {
			t.Errorf("Draining()[%d].Until = %v, want %v", i, d[i].Until, wantUntil)
		}
	}
}

func TestRegistryRevive(t *testing.T) {
	r, c := newRegistry()
	a := r.Apply(map[Key]time.Duration{keyA: time.Minute})[keyA]
	a.SetHealth(Health{State: StateHealthy, Since: epoch})
	conn, closed := pipe(t)
	a.TrackConn(conn)
	a.Begin()

	r.Apply(nil)
	c.Advance(30 * time.Second)
	revivedAt := c.Now()
	got := r.Apply(map[Key]time.Duration{keyA: 2 * time.Minute})[keyA]
	if got != a {
		t.Fatal("a draining target registered again was not revived (different pointer)")
	}
	h := a.Health()
	if h.State != StateInitial || h.Reason != ReasonRegistrationInProgress || !h.Since.Equal(revivedAt) {
		t.Errorf("revived health = %+v", *h)
	}
	if d := r.Draining(); len(d) != 0 {
		t.Errorf("Draining() = %+v after revival", d)
	}
	if p := c.Pending(); p != 0 {
		t.Errorf("Pending() = %d, want the drain timer stopped", p)
	}
	c.Advance(time.Hour)
	if s := a.Health().State; s != StateInitial {
		t.Errorf("state after the old drain would have ended = %s, want initial", s)
	}
	if !isOpen(closed) || a.OpenConns() != 1 {
		t.Error("revived target's connection was closed")
	}

	// Removing it again drains it with the newly registered delay.
	r.Apply(nil)
	if d := r.Draining(); len(d) != 1 || !d[0].Until.Equal(c.Now().Add(2*time.Minute)) {
		t.Fatalf("Draining() = %+v, want A for 2m", d)
	}
	c.Advance(2 * time.Minute)
	if s := a.Health().State; s != StateUnused {
		t.Errorf("state = %s, want unused", s)
	}
	if !isClosed(closed) {
		t.Error("conn not closed after the second drain")
	}
}

func TestRegistryClose(t *testing.T) {
	r, c := newRegistry()
	ts := r.Apply(map[Key]time.Duration{keyA: time.Hour, keyB: time.Hour})
	drainConn, drainClosed := pipe(t)
	liveConn, liveClosed := pipe(t)
	ts[keyA].TrackConn(drainConn)
	ts[keyB].TrackConn(liveConn)
	r.Apply(map[Key]time.Duration{keyB: time.Hour})

	r.Close()
	if !isClosed(drainClosed) {
		t.Error("Close left a draining target's conn open")
	}
	if !isClosed(liveClosed) {
		t.Error("Close left a live target's conn open")
	}
	if d := r.Draining(); len(d) != 0 {
		t.Errorf("Draining() = %+v after Close", d)
	}
	if p := c.Pending(); p != 0 {
		t.Errorf("Pending() = %d after Close, want drain timers stopped", p)
	}
	c.Advance(2 * time.Hour)
	if s := ts[keyA].Health().State; s != StateDraining {
		t.Errorf("drain timer fired after Close: state %s", s)
	}
}

func TestNewRegistryRealClock(t *testing.T) {
	r := NewRegistry(nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ts := r.Apply(map[Key]time.Duration{keyA: 0})
	if since := ts[keyA].Health().Since; time.Since(since) > time.Minute || since.After(time.Now()) {
		t.Errorf("target Since = %v with the real clock", since)
	}
	a := ts[keyA]
	conn, closed := pipe(t)
	a.TrackConn(conn)
	r.Apply(nil) // zero delay on the real clock ends the drain at once
	if !isClosed(closed) {
		t.Fatal("zero-delay drain on the real clock did not close the conn")
	}
}

// TestRegistryDrainEndsEarly: as on ALB, a draining target with nothing in
// flight finishes draining before its delay, after a grace period.
func TestRegistryDrainEndsEarly(t *testing.T) {
	r, c := newRegistry()
	ts := r.Apply(map[Key]time.Duration{keyA: 5 * time.Minute, keyB: 5 * time.Minute})
	a, b := ts[keyA], ts[keyB]
	b.Begin()
	r.Apply(nil)
	c.Advance(drainCheck - time.Nanosecond)
	if s := a.Health().State; s != StateDraining {
		t.Fatalf("idle target %s before the grace period ended, want draining", s)
	}
	c.Advance(time.Nanosecond)
	if s := a.Health().State; s != StateUnused {
		t.Fatalf("idle target %s after the grace period, want unused", s)
	}
	c.Advance(30 * time.Second)
	if s := b.Health().State; s != StateDraining {
		t.Fatalf("busy target %s, want draining", s)
	}
	b.End()
	c.Advance(drainCheck)
	if s := b.Health().State; s != StateUnused {
		t.Fatalf("target %s a check after its last request ended, want unused", s)
	}
	if d := r.Draining(); len(d) != 0 {
		t.Errorf("Draining() = %+v", d)
	}
}
