package health

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelb/sluice/internal/target"
)

func TestInitialToHealthyAfterOneSuccess(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.want(tg, target.StateInitial, target.ReasonRegistrationInProgress)

	f.sync1(settings(func(s *Settings) { s.HealthyThreshold = 5 }), tg)
	f.want(tg, target.StateInitial, target.ReasonInitialHealthChecking)
	if b.hits.Load() != 0 {
		t.Fatal("probed before the clock ran")
	}
	f.tick(0) // the first probe is due at once, not after one interval
	f.want(tg, target.StateHealthy, target.ReasonNone)
	if got := b.hits.Load(); got != 1 {
		t.Errorf("backend saw %d probes, want 1", got)
	}
	if h, u := f.m.Counts("g"); h != 1 || u != 0 {
		t.Errorf("Counts = %d, %d; want 1, 0", h, u)
	}

	changes := f.logs.changes()
	if len(changes) != 1 {
		t.Fatalf("logged %d state changes, want 1: %v", len(changes), changes)
	}
	want := map[string]string{"target_group": "g", "target": b.addr(), "from": "initial",
		"to": "healthy", "reason": "", "description": ""}
	for k, v := range want {
		if changes[0][k] != v {
			t.Errorf("log attr %s = %q, want %q", k, changes[0][k], v)
		}
	}
}

func TestInitialToUnhealthyAfterThreshold(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 503)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.UnhealthyThreshold = 3 }), tg)

	f.tick(0)
	f.want(tg, target.StateInitial, target.ReasonInitialHealthChecking)
	f.tick()
	f.want(tg, target.StateInitial, target.ReasonInitialHealthChecking)
	f.tick()
	h := f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch)
	if h.Description != "Health checks failed with these codes: [503]" {
		t.Errorf("description = %q", h.Description)
	}
	if !h.Since.Equal(f.clk.Now()) {
		t.Errorf("Since = %v, want %v", h.Since, f.clk.Now())
	}
}

func TestHealthyToUnhealthyAfterExactlyThreshold(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.UnhealthyThreshold = 3 }), tg)
	f.tick(0)
	f.want(tg, target.StateHealthy, target.ReasonNone)

	b.status.Store(503)
	f.tick()
	f.want(tg, target.StateHealthy, target.ReasonNone)
	f.tick()
	f.want(tg, target.StateHealthy, target.ReasonNone)
	f.tick()
	h := f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch)
	if !strings.Contains(h.Description, "[503]") {
		t.Errorf("description %q lacks the code", h.Description)
	}

	// A different failure updates the reason, not the state or Since.
	since := h.Since
	b.status.Store(500)
	f.tick()
	h = f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch)
	if !strings.Contains(h.Description, "[500]") || !h.Since.Equal(since) {
		t.Errorf("after 500: %+v, want [500] and Since %v", h, since)
	}
	if n := len(f.logs.changes()); n != 2 {
		t.Errorf("logged %d state changes, want 2 (initial→healthy→unhealthy)", n)
	}
}

func TestUnhealthyToHealthyAfterExactlyThreshold(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 500)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.HealthyThreshold = 4 }), tg)
	f.tick(0)
	f.tick()
	f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch)

	b.status.Store(200)
	for i := 1; i < 4; i++ {
		f.tick()
		f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch)
	}
	// A failure in the middle restarts the count.
	b.status.Store(500)
	f.tick()
	b.status.Store(200)
	for i := 1; i < 4; i++ {
		f.tick()
		f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch)
	}
	f.tick()
	f.want(tg, target.StateHealthy, target.ReasonNone)
}

func TestMatcherSettings(t *testing.T) {
	tests := []struct {
		matcher string
		status  int
		want    target.State
	}{
		{"200,404", 404, target.StateHealthy},
		{"200,404", 200, target.StateHealthy},
		{"200,404", 204, target.StateUnhealthy},
		{"200-299", 204, target.StateHealthy},
		{"200-299", 299, target.StateHealthy},
		{"200-299", 301, target.StateUnhealthy},
		{"", 200, target.StateHealthy},
		{"", 204, target.StateUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.matcher+"/"+strconv.Itoa(tt.status), func(t *testing.T) {
			f := newFixture(t)
			b := newBackend(t, tt.status)
			tg := newTarget(t, f.clk, b.addr())
			s := settings(func(s *Settings) { s.UnhealthyThreshold = 2 })
			if tt.matcher != "" {
				m, err := ParseMatcher(tt.matcher)
				if err != nil {
					t.Fatal(err)
				}
				s.Matcher = m
			}
			f.sync1(s, tg)
			f.tick(0)
			f.tick()
			if got := tg.Health().State; got != tt.want {
				t.Errorf("state = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDisabledIsUnavailable(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(Settings{Enabled: false}, tg)
	f.want(tg, target.StateUnavailable, target.ReasonHealthCheckDisabled)
	f.tick(0)
	f.tick()
	f.tick()
	if got := b.hits.Load(); got != 0 {
		t.Errorf("backend saw %d probes with checks disabled", got)
	}
	if err := f.m.CheckNow(t.Context(), tg); err != ErrDisabled {
		t.Errorf("CheckNow = %v, want ErrDisabled", err)
	}
	if f.clk.Pending() != 0 {
		t.Errorf("%d timers pending with checks disabled", f.clk.Pending())
	}
	if !tg.Routable() {
		t.Error("target with checks disabled not routable")
	}
}

func TestEjectNeedsHealthyThreshold(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.HealthyThreshold = 3 }), tg)
	f.tick(0)
	f.tick() // two successes while healthy must not count after the ejection
	f.want(tg, target.StateHealthy, target.ReasonNone)

	tg.Eject(f.clk.Now(), "connection reset by peer")
	f.want(tg, target.StateUnhealthy, target.ReasonFailedHealthChecks)
	f.tick()
	f.want(tg, target.StateUnhealthy, target.ReasonFailedHealthChecks)
	f.tick()
	f.want(tg, target.StateUnhealthy, target.ReasonFailedHealthChecks)
	f.tick()
	f.want(tg, target.StateHealthy, target.ReasonNone)
}

func TestEjectDuringInitialNeedsHealthyThreshold(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.HealthyThreshold = 2 }), tg)
	tg.Eject(f.clk.Now(), "connection refused")
	f.tick(0)
	f.want(tg, target.StateUnhealthy, target.ReasonFailedHealthChecks)
	f.tick()
	f.want(tg, target.StateHealthy, target.ReasonNone)
}

func TestDrainingIsNotProbed(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(), tg)
	f.tick(0)
	tg.SetHealth(target.Health{State: target.StateDraining, Reason: target.ReasonDeregistrationInProgress,
		Since: f.clk.Now()})
	f.tick()
	f.tick()
	if got := b.hits.Load(); got != 1 {
		t.Errorf("backend saw %d probes, want 1 (none while draining)", got)
	}
	f.want(tg, target.StateDraining, target.ReasonDeregistrationInProgress)
	if err := f.m.CheckNow(t.Context(), tg); err != ErrDraining {
		t.Errorf("CheckNow = %v, want ErrDraining", err)
	}
}

// TestEjectRace runs passive ejections against active checks; it is for the
// race detector.
func TestEjectRace(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.HealthyThreshold = 2 }), tg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			tg.Eject(f.clk.Now(), "reset")
			_ = tg.Routable()
		}
	}()
	for range 20 {
		f.tick()
	}
	<-done
	f.tick()
	f.tick()
	f.want(tg, target.StateHealthy, target.ReasonNone)
}
