package balancer

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/target"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var algorithms = []string{RoundRobin, LeastOutstandingRequests, WeightedRandom}

// newTargets returns n targets of group "g", healthy for an hour before t0.
func newTargets(n int) []*target.Target {
	ts := make([]*target.Target, n)
	for i := range ts {
		ts[i] = target.New(target.Key{Group: "g", ID: fmt.Sprintf("10.0.0.%d", i+1), Port: 80}, t0.Add(-2*time.Hour))
		setState(ts[i], target.StateHealthy, t0.Add(-time.Hour))
	}
	return ts
}

func setState(t *target.Target, s target.State, since time.Time) {
	t.SetHealth(target.Health{State: s, Since: since})
}

func pcg(seed uint64) func() uint64 { return rand.New(rand.NewPCG(seed, seed*7+1)).Uint64 }

func newGroup(tb testing.TB, alg string, ts []*target.Target, o PolicyOptions) *Group {
	tb.Helper()
	if o.Rand == nil {
		o.Rand = pcg(1)
	}
	p, err := NewPolicy(alg, o)
	if err != nil {
		tb.Fatal(err)
	}
	return &Group{Name: "g", Targets: ts, Policy: p}
}

// picks counts the targets n picks chose, by index in ts.
func picks(tb testing.TB, g *Group, n int, exclude *target.Target) []int {
	tb.Helper()
	idx := make(map[*target.Target]int)
	for i, t := range g.Targets {
		idx[t] = i
	}
	got := make([]int, len(g.Targets))
	for range n {
		t, _ := g.Pick(exclude)
		if t == nil {
			tb.Fatal("Pick returned nil")
		}
		got[idx[t]]++
	}
	return got
}

func within(got, want, tol float64) bool { return got >= want-tol && got <= want+tol }

func TestRoundRobinExactlyEven(t *testing.T) {
	g := newGroup(t, RoundRobin, newTargets(3), PolicyOptions{})
	if got := picks(t, g, 300, nil); fmt.Sprint(got) != "[100 100 100]" {
		t.Errorf("picks = %v, want [100 100 100]", got)
	}
}

func TestRoundRobinSkipsUnhealthy(t *testing.T) {
	ts := newTargets(4)
	setState(ts[1], target.StateUnhealthy, t0)
	g := newGroup(t, RoundRobin, ts, PolicyOptions{})
	// The target after the unhealthy one must not inherit its turns.
	if got := picks(t, g, 300, nil); fmt.Sprint(got) != "[100 0 100 100]" {
		t.Errorf("picks = %v, want [100 0 100 100]", got)
	}
}

func TestLeastOutstanding(t *testing.T) {
	ts := newTargets(3)
	for i, n := range []int{3, 1, 2} {
		for range n {
			ts[i].Begin()
		}
	}
	g := newGroup(t, LeastOutstandingRequests, ts, PolicyOptions{})
	if got, _ := g.Pick(nil); got != ts[1] {
		t.Errorf("Pick = %v, want the least loaded %v", got.Key, ts[1].Key)
	}
	setState(ts[1], target.StateUnhealthy, t0)
	if got, _ := g.Pick(nil); got != ts[2] {
		t.Errorf("Pick with least loaded unhealthy = %v, want %v", got.Key, ts[2].Key)
	}
}

func TestLeastOutstandingSpreadsTies(t *testing.T) {
	ts := newTargets(4)
	setState(ts[1], target.StateUnhealthy, t0)
	g := newGroup(t, LeastOutstandingRequests, ts, PolicyOptions{})
	if got := picks(t, g, 300, nil); fmt.Sprint(got) != "[100 0 100 100]" {
		t.Errorf("picks with equal loads = %v, want [100 0 100 100]", got)
	}
	// As requests start, the load itself spreads them.
	for i := range ts {
		ts[i].Begin()
	}
	ts[3].Begin()
	for range 2 {
		tg, _ := g.Pick(nil)
		if tg == ts[3] {
			t.Fatalf("picked the busiest target")
		}
		tg.Begin()
	}
	if ts[0].Outstanding() != 2 || ts[2].Outstanding() != 2 {
		t.Errorf("outstanding = %d, %d; want 2, 2", ts[0].Outstanding(), ts[2].Outstanding())
	}
}

func TestWeightedRandomUniform(t *testing.T) {
	const n = 30000
	g := newGroup(t, WeightedRandom, newTargets(3), PolicyOptions{Rand: pcg(42)})
	for i, c := range picks(t, g, n, nil) {
		if !within(float64(c), n/3, n*0.02) {
			t.Errorf("target %d picked %d times, want %d ± 2%%", i, c, n/3)
		}
	}
}

func TestFailOpen(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			tests := []struct {
				name           string
				healthy        int // of 4 targets, the first ones
				count, percent int
				wantFailOpen   bool
			}{
				{"none healthy", 0, 0, 0, true},
				{"one healthy default", 1, 0, 0, false},
				{"count 2, one healthy", 1, 2, 0, true},
				{"count 2, two healthy", 2, 2, 0, false},
				{"50%, one healthy", 1, 0, 50, true},
				{"50%, two healthy", 2, 0, 50, false},
				{"60%, two healthy", 2, 0, 60, true},
				{"100%, all healthy", 4, 0, 100, false},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					ts := newTargets(4)
					for _, tg := range ts[tc.healthy:] {
						setState(tg, target.StateUnhealthy, t0)
					}
					g := newGroup(t, alg, ts, PolicyOptions{})
					g.MinHealthyCount, g.MinHealthyPercent = tc.count, tc.percent
					seen := make(map[*target.Target]bool)
					for range 400 {
						tg, failOpen := g.Pick(nil)
						if tg == nil {
							t.Fatal("Pick returned nil")
						}
						if failOpen != tc.wantFailOpen {
							t.Fatalf("failOpen = %v, want %v", failOpen, tc.wantFailOpen)
						}
						seen[tg] = true
					}
					want := tc.healthy
					if tc.wantFailOpen {
						want = len(ts) // every registered target
					}
					if len(seen) != want {
						t.Errorf("picked %d distinct targets, want %d", len(seen), want)
					}
				})
			}
		})
	}
}

func TestHealthCheckDisabledIsRoutable(t *testing.T) {
	ts := newTargets(2)
	setState(ts[0], target.StateUnavailable, t0)
	setState(ts[1], target.StateUnhealthy, t0)
	g := newGroup(t, RoundRobin, ts, PolicyOptions{})
	for range 10 {
		if tg, failOpen := g.Pick(nil); tg != ts[0] || failOpen {
			t.Fatalf("Pick = %v, %v; want the health-check-disabled target, false", tg.Key, failOpen)
		}
	}
}

func TestExcludeForRetry(t *testing.T) {
	for _, alg := range algorithms {
		t.Run(alg, func(t *testing.T) {
			ts := newTargets(3)
			g := newGroup(t, alg, ts, PolicyOptions{})
			if got := picks(t, g, 300, ts[0]); got[0] != 0 || got[1] == 0 || got[2] == 0 {
				t.Errorf("picks excluding target 0 = %v", got)
			}
			// The excluded target is the only routable one: retry it
			// rather than send to an unhealthy target.
			setState(ts[1], target.StateUnhealthy, t0)
			setState(ts[2], target.StateUnhealthy, t0)
			if tg, failOpen := g.Pick(ts[0]); tg != ts[0] || failOpen {
				t.Errorf("Pick(only routable) = %v, %v; want it, false", tg.Key, failOpen)
			}
		})
	}
}

func TestNoTargets(t *testing.T) {
	for _, alg := range algorithms {
		g := newGroup(t, alg, nil, PolicyOptions{})
		if tg, failOpen := g.Pick(nil); tg != nil || failOpen {
			t.Errorf("%s: Pick on an empty group = %v, %v; want nil, false", alg, tg, failOpen)
		}
	}
	var g Group // zero value: no targets, nil policy
	if tg, _ := g.Pick(nil); tg != nil {
		t.Errorf("zero Group Pick = %v, want nil", tg)
	}
}

func TestNilPolicyIsRoundRobin(t *testing.T) {
	g := &Group{Targets: newTargets(2)}
	a, _ := g.Pick(nil)
	b, _ := g.Pick(nil)
	if a == nil || b == nil || a == b {
		t.Errorf("two picks = %v, %v; want both targets", a, b)
	}
}

func TestSlowStart(t *testing.T) {
	const slow = 100 * time.Second
	for _, alg := range []string{RoundRobin, WeightedRandom} {
		t.Run(alg, func(t *testing.T) {
			clk := clock.NewFake(t0)
			ts := newTargets(3)
			setState(ts[2], target.StateUnhealthy, t0.Add(-time.Minute))
			setState(ts[2], target.StateHealthy, t0) // just became healthy
			g := newGroup(t, alg, ts, PolicyOptions{SlowStart: slow, Clock: clk, Rand: pcg(7)})

			// ratio is the new target's share relative to an old one's.
			ratio := func() float64 {
				got := picks(t, g, 30000, nil)
				t.Logf("picks %v", got)
				return float64(got[2]) / float64((got[0]+got[1])/2)
			}
			if r := ratio(); r > 0.02 {
				t.Errorf("just healthy: relative share %.3f, want ~0.01", r)
			}
			clk.Advance(slow / 2)
			if r := ratio(); !within(r, 0.5, 0.05) {
				t.Errorf("half way: relative share %.3f, want 0.5 ± 0.05", r)
			}
			clk.Advance(slow / 4)
			if r := ratio(); !within(r, 0.75, 0.05) {
				t.Errorf("three quarters: relative share %.3f, want 0.75 ± 0.05", r)
			}
			clk.Advance(slow / 4)
			if r := ratio(); !within(r, 1, 0.05) {
				t.Errorf("after slow start: relative share %.3f, want 1 ± 0.05", r)
			}
		})
	}
}

func TestSlowStartOnlyRampingTargets(t *testing.T) {
	for _, alg := range []string{RoundRobin, WeightedRandom} {
		t.Run(alg, func(t *testing.T) {
			clk := clock.NewFake(t0)
			ts := newTargets(2)
			setState(ts[0], target.StateUnhealthy, t0)
			setState(ts[1], target.StateUnhealthy, t0)
			setState(ts[1], target.StateHealthy, t0)
			g := newGroup(t, alg, ts, PolicyOptions{SlowStart: time.Minute, Clock: clk})
			for range 100 {
				if tg, failOpen := g.Pick(nil); tg != ts[1] || failOpen {
					t.Fatalf("Pick = %v, %v; want the only healthy (ramping) target", tg, failOpen)
				}
			}
		})
	}
}

func TestNewPolicyErrors(t *testing.T) {
	tests := []struct {
		name, alg string
		o         PolicyOptions
	}{
		{"unknown algorithm", "random", PolicyOptions{}},
		{"slow start with least outstanding", LeastOutstandingRequests, PolicyOptions{SlowStart: time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewPolicy(tc.alg, tc.o); err == nil {
				t.Error("NewPolicy succeeded, want an error")
			}
		})
	}
	if _, err := NewPolicy("", PolicyOptions{}); err != nil {
		t.Errorf(`NewPolicy("") = %v, want round robin`, err)
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	for _, alg := range algorithms {
		for _, slow := range []time.Duration{0, time.Minute} {
			if alg == LeastOutstandingRequests && slow > 0 {
				continue
			}
			t.Run(fmt.Sprintf("%s/slow_start=%v", alg, slow), func(t *testing.T) {
				ts := newTargets(8)
				setState(ts[3], target.StateUnhealthy, t0)
				setState(ts[5], target.StateHealthy, t0.Add(time.Hour)) // ramping
				g := newGroup(t, alg, ts, PolicyOptions{SlowStart: slow, Clock: clock.NewFake(t0.Add(time.Hour + time.Second))})
				if n := testing.AllocsPerRun(1000, func() { g.Pick(ts[0]) }); n != 0 {
					t.Errorf("Pick allocates %v times per call, want 0", n)
				}
				for _, tg := range ts {
					setState(tg, target.StateUnhealthy, t0)
				}
				if n := testing.AllocsPerRun(1000, func() { g.Pick(nil) }); n != 0 {
					t.Errorf("Pick failing open allocates %v times per call, want 0", n)
				}
			})
		}
	}
}

// BenchmarkPick measures picking from 16 targets, one unhealthy, from
// parallel goroutines; run with -cpu 1,2,4 to see the shared counters scale.
func BenchmarkPick(b *testing.B) {
	for _, alg := range algorithms {
		b.Run(alg, func(b *testing.B) {
			ts := newTargets(16)
			setState(ts[7], target.StateUnhealthy, t0)
			p, err := NewPolicy(alg, PolicyOptions{})
			if err != nil {
				b.Fatal(err)
			}
			g := &Group{Name: "g", Targets: ts, Policy: p}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if t, _ := g.Pick(nil); t == nil {
						b.Fatal("nil pick")
					}
				}
			})
		})
	}
}
