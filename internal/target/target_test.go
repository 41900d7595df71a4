package target

import (
	"net"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func newTarget() *Target { return New(Key{Group: "g", ID: "10.0.0.1", Port: 80}, epoch) }

func TestNew(t *testing.T) {
	tg := New(Key{Group: "web", ID: "::1", Port: 8080}, epoch)
	if tg.Addr != "[::1]:8080" {
		t.Errorf("Addr = %q, want [::1]:8080", tg.Addr)
	}
	if s := tg.Key.String(); s != "web/[::1]:8080" {
		t.Errorf("Key.String() = %q", s)
	}
	h := tg.Health()
	if h.State != StateInitial || h.Reason != ReasonRegistrationInProgress || !h.Since.Equal(epoch) || h.Description == "" {
		t.Errorf("new health = %+v", *h)
	}
	if !tg.HealthySince().IsZero() {
		t.Errorf("HealthySince() = %v, want zero", tg.HealthySince())
	}
}

func TestSetHealthHealthySince(t *testing.T) {
	t1, t2, t3 := epoch.Add(time.Second), epoch.Add(2*time.Second), epoch.Add(3*time.Second)
	type step struct {
		state State
		since time.Time
		want  time.Time // HealthySince after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"entering healthy starts the clock", []step{{StateHealthy, t1, t1}}},
		{"staying healthy keeps the first time", []step{{StateHealthy, t1, t1}, {StateHealthy, t2, t1}}},
		{"leaving healthy clears", []step{{StateHealthy, t1, t1}, {StateUnhealthy, t2, time.Time{}}}},
		{"healthy again restarts", []step{{StateHealthy, t1, t1}, {StateUnhealthy, t2, time.Time{}}, {StateHealthy, t3, t3}}},
		{"draining clears", []step{{StateHealthy, t1, t1}, {StateDraining, t2, time.Time{}}}},
		{"unavailable is not healthy", []step{{StateUnavailable, t1, time.Time{}}}},
	}
	for _, tt := range tests {
		for _, cas := range []bool{false, true} {
			name := tt.name + "/SetHealth"
			if cas {
				name = tt.name + "/CompareAndSetHealth"
			}
			t.Run(name, func(t *testing.T) {
				tg := newTarget()
				for i, s := range tt.steps {
					h := Health{State: s.state, Since: s.since}
					prev := tg.Health()
					if cas {
						if !tg.CompareAndSetHealth(prev, h) {
							t.Fatalf("step %d: CompareAndSetHealth with current value failed", i)
						}
					} else if old := tg.SetHealth(h); old != prev {
						t.Fatalf("step %d: SetHealth returned %p, want previous %p", i, old, prev)
					}
					if got := tg.Health(); got.State != s.state || !got.Since.Equal(s.since) {
						t.Errorf("step %d: Health() = %+v", i, *got)
					}
					if got := tg.HealthySince(); !got.Equal(s.want) {
						t.Errorf("step %d: HealthySince() = %v, want %v", i, got, s.want)
					}
				}
			})
		}
	}
}

func TestCompareAndSetHealthStale(t *testing.T) {
	tg := newTarget()
	stale := tg.Health()
	tg.SetHealth(Health{State: StateHealthy, Since: epoch.Add(time.Second)})
	cur := tg.Health()
	if tg.CompareAndSetHealth(stale, Health{State: StateUnhealthy, Since: epoch.Add(2 * time.Second)}) {
		t.Fatal("CompareAndSetHealth with a stale value succeeded")
	}
	if tg.Health() != cur {
		t.Error("failed CompareAndSetHealth changed the health")
	}
	if got := tg.HealthySince(); !got.Equal(epoch.Add(time.Second)) {
		t.Errorf("failed CompareAndSetHealth changed HealthySince to %v", got)
	}
	// An equal but distinct value is not the published one.
	cp := *cur
	if tg.CompareAndSetHealth(&cp, Health{State: StateUnhealthy}) {
		t.Error("CompareAndSetHealth compared by value, want by pointer")
	}
}

func TestEject(t *testing.T) {
	tests := []struct {
		from      State
		wantState State
	}{
		{StateInitial, StateUnhealthy},
		{StateHealthy, StateUnhealthy},
		{StateUnused, StateUnhealthy},
		{StateUnhealthy, StateUnhealthy},
		{StateDraining, StateDraining},
		{StateUnavailable, StateUnavailable},
	}
	for _, tt := range tests {
		t.Run(string(tt.from), func(t *testing.T) {
			tg := newTarget()
			tg.SetHealth(Health{State: tt.from, Reason: "before", Since: epoch})
			before := tg.Health()
			tg.Eject(epoch.Add(time.Minute), "connection refused")
			h := tg.Health()
			if h.State != tt.wantState {
				t.Fatalf("state after Eject = %s, want %s", h.State, tt.wantState)
			}
			if tt.from == tt.wantState {
				if h != before {
					t.Errorf("Eject from %s republished the health: %+v", tt.from, *h)
				}
				return
			}
			if h.Reason != ReasonFailedHealthChecks || h.Description != "connection refused" || !h.Since.Equal(epoch.Add(time.Minute)) {
				t.Errorf("health after Eject = %+v", *h)
			}
			if !tg.HealthySince().IsZero() {
				t.Errorf("HealthySince() = %v after Eject, want zero", tg.HealthySince())
			}
		})
	}
}

func TestRoutable(t *testing.T) {
	tests := []struct {
		state State
		want  bool
	}{
		{StateInitial, false},
		{StateHealthy, true},
		{StateUnhealthy, false},
		{StateUnused, false},
		{StateDraining, false},
		{StateUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			tg := newTarget()
			tg.SetHealth(Health{State: tt.state, Since: epoch})
			if got := tg.Routable(); got != tt.want {
				t.Errorf("Routable() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEjectConcurrentWithSetHealth checks that Eject never overwrites a
// change published concurrently: whatever the interleaving, a target moved
// to draining stays draining.
func TestEjectConcurrentWithSetHealth(t *testing.T) {
	for i := 0; i < 200; i++ {
		tg := newTarget()
		tg.SetHealth(Health{State: StateHealthy, Since: epoch})
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j := 0; j < 4; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tg.Eject(epoch.Add(time.Second), "refused")
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tg.SetHealth(Health{State: StateDraining, Reason: ReasonDeregistrationInProgress, Since: epoch.Add(2 * time.Second)})
		}()
		close(start)
		wg.Wait()
		if h := tg.Health(); h.State != StateDraining {
			t.Fatalf("iteration %d: state = %s after concurrent Eject and SetHealth(draining), want draining", i, h.State)
		}
		if !tg.HealthySince().IsZero() {
			t.Fatalf("iteration %d: HealthySince() = %v, want zero", i, tg.HealthySince())
		}
	}
}

func TestOutstanding(t *testing.T) {
	tg := newTarget()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); tg.Begin() }()
	}
	wg.Wait()
	if n := tg.Outstanding(); n != 50 {
		t.Fatalf("Outstanding() = %d, want 50", n)
	}
	for i := 0; i < 50; i++ {
		tg.End()
	}
	if n := tg.Outstanding(); n != 0 {
		t.Fatalf("Outstanding() = %d, want 0", n)
	}
}

// pipe returns the near end of a net.Pipe and a channel closed once the far
// end sees the near end close.
func pipe(t *testing.T) (net.Conn, <-chan struct{}) {
	t.Helper()
	a, b := net.Pipe()
	closed := make(chan struct{})
	go func() {
		var buf [1]byte
		b.Read(buf[:]) // returns io.EOF when a closes
		close(closed)
		b.Close()
	}()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, closed
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(2 * time.Second):
		return false
	}
}

func isOpen(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return false
	case <-time.After(20 * time.Millisecond):
		return true
	}
}

func TestConnTracking(t *testing.T) {
	tests := []struct {
		name      string
		track     int
		untrack   int // of the tracked ones, forgotten before CloseConns
		wantOpen  int // OpenConns before CloseConns
		wantClose int // closed by CloseConns
	}{
		{"none", 0, 0, 0, 0},
		{"one", 1, 0, 1, 1},
		{"three", 3, 0, 3, 3},
		{"three with one untracked", 3, 1, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := newTarget()
			conns := make([]net.Conn, tt.track)
			closed := make([]<-chan struct{}, tt.track)
			for i := range conns {
				conns[i], closed[i] = pipe(t)
				if !tg.TrackConn(conns[i]) {
					t.Fatalf("TrackConn(%d) = false on an open target", i)
				}
			}
			for i := 0; i < tt.untrack; i++ {
				tg.UntrackConn(conns[i])
			}
			if n := tg.OpenConns(); n != tt.wantOpen {
				t.Errorf("OpenConns() = %d, want %d", n, tt.wantOpen)
			}
			tg.CloseConns()
			for i := range conns {
				if i < tt.untrack {
					if !isOpen(closed[i]) {
						t.Errorf("conn %d was untracked but CloseConns closed it", i)
					}
					continue
				}
				if !isClosed(closed[i]) {
					t.Errorf("conn %d not closed by CloseConns", i)
				}
			}
			if n := tg.OpenConns(); n != 0 {
				t.Errorf("OpenConns() = %d after CloseConns, want 0", n)
			}

			// A connection tracked afterwards is refused and closed.
			late, lateClosed := pipe(t)
			if tg.TrackConn(late) {
				t.Error("TrackConn after CloseConns = true, want false")
			}
			if !isClosed(lateClosed) {
				t.Error("TrackConn after CloseConns left the conn open")
			}
			if n := tg.OpenConns(); n != 0 {
				t.Errorf("OpenConns() = %d after a refused TrackConn, want 0", n)
			}
			tg.CloseConns() // idempotent
		})
	}
}

// closeUntracking is a conn that, like upstream's, forgets itself on Close;
// CloseConns must not deadlock on it.
type closeUntracking struct {
	net.Conn
	t *Target
}

func (c closeUntracking) Close() error {
	c.t.UntrackConn(c)
	return c.Conn.Close()
}

func TestCloseConnsWithSelfUntrackingConn(t *testing.T) {
	tg := newTarget()
	a, closed := pipe(t)
	c := closeUntracking{a, tg}
	if !tg.TrackConn(c) {
		t.Fatal("TrackConn = false")
	}
	done := make(chan struct{})
	go func() { tg.CloseConns(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("CloseConns deadlocked on a conn whose Close calls UntrackConn")
	}
	if !isClosed(closed) {
		t.Error("conn not closed")
	}
}

// TestTrackConnAfterCloseWithSelfUntrackingConn: a connection refused by a
// closed target is closed by TrackConn; a conn whose Close forgets itself
// (as upstream's does) must not deadlock there.
func TestTrackConnAfterCloseWithSelfUntrackingConn(t *testing.T) {
	tg := newTarget()
	tg.CloseConns()
	a, closed := pipe(t)
	done := make(chan bool, 1)
	go func() { done <- tg.TrackConn(closeUntracking{a, tg}) }()
	select {
	case ok := <-done:
		if ok {
			t.Error("TrackConn after CloseConns = true")
		}
		if !isClosed(closed) {
			t.Error("refused conn left open")
		}
	case <-time.After(time.Second):
		t.Fatal("regression: TrackConn on a closed target calls c.Close() while holding t.mu; a conn whose Close " +
			"calls UntrackConn (upstream.conn does) deadlocks, and the target's mutex stays locked forever")
	}
}
