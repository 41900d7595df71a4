package clock

import (
	"reflect"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFakeAdvance(t *testing.T) {
	type sched struct {
		name string
		d    time.Duration
	}
	tests := []struct {
		name    string
		sched   []sched
		advance []time.Duration
		want    []string
	}{
		{
			name:    "due order",
			sched:   []sched{{"c", 3 * time.Second}, {"a", time.Second}, {"b", 2 * time.Second}},
			advance: []time.Duration{5 * time.Second},
			want:    []string{"a", "b", "c"},
		},
		{
			name:    "same time FIFO",
			sched:   []sched{{"first", time.Second}, {"second", time.Second}, {"third", time.Second}},
			advance: []time.Duration{time.Second},
			want:    []string{"first", "second", "third"},
		},
		{
			name:    "not yet due",
			sched:   []sched{{"a", time.Second}, {"b", 2 * time.Second}},
			advance: []time.Duration{1500 * time.Millisecond},
			want:    []string{"a"},
		},
		{
			name:    "due exactly at end",
			sched:   []sched{{"a", 2 * time.Second}},
			advance: []time.Duration{time.Second, time.Second},
			want:    []string{"a"},
		},
		{
			name:    "zero delay runs on Advance(0)",
			sched:   []sched{{"a", 0}},
			advance: []time.Duration{0},
			want:    []string{"a"},
		},
		{
			name:    "nothing before advance",
			sched:   []sched{{"a", 0}},
			advance: nil,
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewFake(epoch)
			var mu sync.Mutex
			var got []string
			for _, s := range tt.sched {
				c.AfterFunc(s.d, func() {
					mu.Lock()
					got = append(got, s.name)
					mu.Unlock()
				})
			}
			var total time.Duration
			for _, d := range tt.advance {
				c.Advance(d)
				total += d
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ran %v, want %v", got, tt.want)
			}
			if now := c.Now(); !now.Equal(epoch.Add(total)) {
				t.Errorf("Now() = %v, want %v", now, epoch.Add(total))
			}
			if p, want := c.Pending(), len(tt.sched)-len(tt.want); p != want {
				t.Errorf("Pending() = %d, want %d", p, want)
			}
		})
	}
}

func TestFakeCallbackSeesDueTime(t *testing.T) {
	c := NewFake(epoch)
	var at []time.Time
	c.AfterFunc(time.Second, func() { at = append(at, c.Now()) })
	c.AfterFunc(3*time.Second, func() { at = append(at, c.Now()) })
	c.Advance(10 * time.Second)
	want := []time.Time{epoch.Add(time.Second), epoch.Add(3 * time.Second)}
	if !reflect.DeepEqual(at, want) {
		t.Errorf("callbacks saw %v, want %v", at, want)
	}
	if !c.Now().Equal(epoch.Add(10 * time.Second)) {
		t.Errorf("Now() = %v, want end of advance", c.Now())
	}
}

func TestFakeChained(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		want    []string
		pending int
	}{
		{"chain inside window", 3 * time.Second, []string{"a", "b", "c"}, 0},
		{"chain partly inside window", 2 * time.Second, []string{"a", "b"}, 1},
		{"only first", time.Second, []string{"a"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewFake(epoch)
			var got []string
			var at []time.Time
			c.AfterFunc(time.Second, func() {
				got, at = append(got, "a"), append(at, c.Now())
				c.AfterFunc(time.Second, func() {
					got, at = append(got, "b"), append(at, c.Now())
					c.AfterFunc(time.Second, func() {
						got, at = append(got, "c"), append(at, c.Now())
					})
				})
			})
			c.Advance(tt.advance)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ran %v, want %v", got, tt.want)
			}
			for i, ts := range at {
				if want := epoch.Add(time.Duration(i+1) * time.Second); !ts.Equal(want) {
					t.Errorf("callback %d saw Now() = %v, want %v", i, ts, want)
				}
			}
			if p := c.Pending(); p != tt.pending {
				t.Errorf("Pending() = %d, want %d", p, tt.pending)
			}
		})
	}
}

func TestFakeChainedZeroDelayRunsInSameAdvance(t *testing.T) {
	c := NewFake(epoch)
	ran := 0
	c.AfterFunc(time.Second, func() {
		ran++
		c.AfterFunc(0, func() { ran++ })
	})
	c.Advance(time.Second)
	if ran != 2 {
		t.Errorf("ran %d callbacks, want 2", ran)
	}
}

func TestFakeStop(t *testing.T) {
	tests := []struct {
		name      string
		stopAfter bool // stop after the callback ran
		wantStop  bool
		wantRan   bool
	}{
		{"stop before due", false, true, false},
		{"stop after run", true, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewFake(epoch)
			ran := false
			tm := c.AfterFunc(time.Second, func() { ran = true })
			other := c.AfterFunc(2*time.Second, func() {})
			if tt.stopAfter {
				c.Advance(time.Second)
			}
			if got := tm.Stop(); got != tt.wantStop {
				t.Errorf("Stop() = %v, want %v", got, tt.wantStop)
			}
			if tm.Stop() {
				t.Error("second Stop() = true, want false")
			}
			if p := c.Pending(); p != 1 {
				t.Errorf("Pending() = %d, want 1", p)
			}
			c.Advance(5 * time.Second)
			if ran != tt.wantRan {
				t.Errorf("ran = %v, want %v", ran, tt.wantRan)
			}
			if other.Stop() {
				t.Error("Stop() on a timer that ran = true")
			}
			if p := c.Pending(); p != 0 {
				t.Errorf("Pending() = %d after advance, want 0", p)
			}
		})
	}
}

func TestFakeStopFromCallback(t *testing.T) {
	c := NewFake(epoch)
	var second Timer
	ran := false
	c.AfterFunc(time.Second, func() { second.Stop() })
	second = c.AfterFunc(2*time.Second, func() { ran = true })
	c.Advance(3 * time.Second)
	if ran {
		t.Error("timer stopped by an earlier callback still ran")
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = Real{}
	before := time.Now()
	if now := c.Now(); now.Before(before) {
		t.Errorf("Real.Now() = %v before %v", now, before)
	}
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Real.AfterFunc callback did not run")
	}
	tm := c.AfterFunc(time.Hour, func() { t.Error("stopped timer ran") })
	if !tm.Stop() {
		t.Error("Stop() on a pending real timer = false")
	}
}
