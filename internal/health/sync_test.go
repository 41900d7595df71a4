package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/target"
)

func TestSyncChangedSettingsKeepsState(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(), tg)
	f.tick(0)
	before := f.want(tg, target.StateHealthy, target.ReasonNone)

	f.sync1(settings(func(s *Settings) {
		s.Path = "/new"
		s.Interval = 60 * time.Second
		s.UnhealthyThreshold = 3
	}), tg)
	if tg.Health() != before {
		t.Fatalf("Sync republished health: %+v", tg.Health())
	}
	// The next probe comes one new interval after the last start.
	f.tick(59 * time.Second)
	if got := b.hits.Load(); got != 1 {
		t.Fatalf("%d probes before the new interval ended, want 1", got)
	}
	f.tick(time.Second)
	if got := b.hits.Load(); got != 2 || b.lastPath() != "/new" {
		t.Fatalf("probes = %d, last path %q; want 2, /new", got, b.lastPath())
	}

	// The new threshold applies.
	b.status.Store(500)
	f.tick(60 * time.Second)
	f.tick(60 * time.Second)
	f.want(tg, target.StateHealthy, target.ReasonNone)
	f.tick(60 * time.Second)
	f.want(tg, target.StateUnhealthy, target.ReasonResponseCodeMismatch)
}

func TestSyncShorterIntervalProbesSooner(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(func(s *Settings) { s.Interval = 300 * time.Second }), tg)
	f.tick(0)
	f.tick(100 * time.Second)
	f.sync1(settings(func(s *Settings) { s.Interval = 5 * time.Second }), tg)
	f.tick(0) // overdue: runs at once
	if got := b.hits.Load(); got != 2 {
		t.Fatalf("probes = %d, want 2", got)
	}
	f.tick(5 * time.Second)
	if got := b.hits.Load(); got != 3 {
		t.Fatalf("probes = %d, want 3", got)
	}
	if f.clk.Pending() != 1 {
		t.Errorf("%d timers pending, want 1", f.clk.Pending())
	}
}

func TestSyncDisableEnable(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	tg := newTarget(t, f.clk, b.addr())
	f.sync1(settings(), tg)
	f.tick(0)
	f.want(tg, target.StateHealthy, target.ReasonNone)

	f.sync1(Settings{}, tg)
	f.want(tg, target.StateUnavailable, target.ReasonHealthCheckDisabled)
	f.tick()
	f.tick()
	if got := b.hits.Load(); got != 1 {
		t.Fatalf("probes while disabled: %d, want 1 in all", got)
	}

	f.sync1(settings(), tg)
	f.want(tg, target.StateInitial, target.ReasonInitialHealthChecking)
	f.tick(0)
	f.want(tg, target.StateHealthy, target.ReasonNone)
}

func TestSyncRemovedTargetStops(t *testing.T) {
	f := newFixture(t)
	b1, b2 := newBackend(t, 200), newBackend(t, 200)
	t1, t2 := newTarget(t, f.clk, b1.addr()), newTarget(t, f.clk, b2.addr())
	f.sync1(settings(), t1, t2)
	f.tick(0)
	f.tick()
	if b1.hits.Load() != 2 || b2.hits.Load() != 2 {
		t.Fatalf("probes = %d, %d; want 2, 2", b1.hits.Load(), b2.hits.Load())
	}

	f.sync1(settings(), t2)
	h := t1.Health()
	for range 5 {
		f.tick()
	}
	if got := b1.hits.Load(); got != 2 {
		t.Errorf("removed target probed %d times, want 2", got)
	}
	if got := b2.hits.Load(); got != 7 {
		t.Errorf("kept target probed %d times, want 7", got)
	}
	if t1.Health() != h {
		t.Errorf("removed target's health changed to %+v", t1.Health())
	}
	if err := f.m.CheckNow(t.Context(), t1); err != ErrNotChecked {
		t.Errorf("CheckNow(removed) = %v, want ErrNotChecked", err)
	}

	f.m.Sync(nil)
	if f.clk.Pending() != 0 {
		t.Errorf("%d timers pending after Sync(nil)", f.clk.Pending())
	}
}

func TestSyncTwoGroups(t *testing.T) {
	f := newFixture(t)
	good, bad := newBackend(t, 200), newBackend(t, 500)
	tg1, tg2 := newTarget(t, f.clk, good.addr()), newTarget(t, f.clk, bad.addr())
	f.m.Sync([]GroupSpec{
		{Name: "a", Settings: settings(), Targets: []*target.Target{tg1}},
		{Name: "b", Settings: settings(), Targets: []*target.Target{tg2}},
	})
	f.tick(0)
	f.tick()
	if h, u := f.m.Counts("a"); h != 1 || u != 0 {
		t.Errorf("Counts(a) = %d, %d", h, u)
	}
	if h, u := f.m.Counts("b"); h != 0 || u != 1 {
		t.Errorf("Counts(b) = %d, %d", h, u)
	}
}

// TestTickSkippedWhileProbing pins that a target never has two probes at
// once: a tick that falls due while a probe runs is skipped.
func TestTickSkippedWhileProbing(t *testing.T) {
	started, release := make(chan struct{}, 10), make(chan struct{})
	var hits atomic.Int64
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		started <- struct{}{}
		<-release
	}))
	defer b.Close()
	f := newFixture(t)
	tg := newTarget(t, f.clk, b.Listener.Addr().String())
	f.sync1(settings(func(s *Settings) { s.Timeout = time.Minute }), tg)

	errc := make(chan error)
	go func() { errc <- f.m.CheckNow(context.Background(), tg) }()
	<-started
	f.tick(0) // the scheduled first probe falls due while CheckNow's runs
	close(release)
	if err := <-errc; err != nil {
		t.Fatalf("CheckNow = %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("backend saw %d probes, want 1", n)
	}
	f.want(tg, target.StateHealthy, target.ReasonNone)
	f.tick()
	if n := hits.Load(); n != 2 {
		t.Errorf("backend saw %d probes, want 2", n)
	}
}

func TestCloseCancelsProbes(t *testing.T) {
	f := newFixture(t)
	addr, accepted := hangingListener(t)
	tg := newTarget(t, f.clk, addr)
	f.sync1(settings(func(s *Settings) { s.Timeout = time.Hour }), tg)
	advanced := make(chan struct{})
	go func() {
		f.tick(0)
		close(advanced)
	}()
	<-accepted
	closed := make(chan struct{})
	go func() {
		f.m.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not cancel the probe in flight")
	}
	<-advanced
	f.want(tg, target.StateInitial, target.ReasonInitialHealthChecking)
	f.m.Sync([]GroupSpec{{Name: "g", Settings: settings(), Targets: []*target.Target{tg}}})
	if f.clk.Pending() != 0 {
		t.Error("Sync after Close scheduled probes")
	}
}

func TestCheckNowCallerCancelled(t *testing.T) {
	f := newFixture(t)
	addr, accepted := hangingListener(t)
	tg := newTarget(t, f.clk, addr)
	f.sync1(settings(func(s *Settings) { s.Timeout = time.Hour }), tg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted
		cancel()
	}()
	if err := f.m.CheckNow(ctx, tg); !errors.Is(err, context.Canceled) {
		t.Errorf("CheckNow = %v, want context.Canceled", err)
	}
	f.want(tg, target.StateInitial, target.ReasonInitialHealthChecking)
}

func TestStartKeepsKnownState(t *testing.T) {
	f := newFixture(t)
	b := newBackend(t, 200)
	healthy, unused := newTarget(t, f.clk, b.addr()), newTarget(t, f.clk, b.addr())
	healthy.SetHealth(target.Health{State: target.StateHealthy, Since: f.clk.Now()})
	unused.SetHealth(target.Health{State: target.StateUnused, Reason: target.ReasonNotInUse, Since: f.clk.Now()})
	h := healthy.Health()
	f.sync1(settings(), healthy, unused)
	if healthy.Health() != h {
		t.Errorf("a healthy target's state was republished at start: %+v", healthy.Health())
	}
	f.want(unused, target.StateInitial, target.ReasonInitialHealthChecking)
}
