package balancer

import (
	"testing"

	"github.com/sluicelb/sluice/internal/target"
)

func TestSticky(t *testing.T) {
	ts := newTargets(3)
	g := newGroup(t, RoundRobin, ts, PolicyOptions{})
	setState(ts[1], target.StateUnhealthy, t0)

	tests := []struct {
		name string
		key  target.Key
		want *target.Target
	}{
		{"registered healthy", ts[0].Key, ts[0]},
		{"registered unhealthy", ts[1].Key, nil},
		{"not registered", target.Key{Group: "g", ID: "10.9.9.9", Port: 80}, nil},
		{"other port", target.Key{Group: "g", ID: ts[0].Key.ID, Port: 8080}, nil},
		{"other group", target.Key{Group: "h", ID: ts[0].Key.ID, Port: 80}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := g.Sticky(tc.key)
			if got != tc.want || ok != (tc.want != nil) {
				t.Errorf("Sticky(%v) = %v, %v; want %v", tc.key, got, ok, tc.want)
			}
		})
	}

	// Failing open, an unhealthy target is as good as any: keep the client.
	for _, tg := range ts {
		setState(tg, target.StateUnhealthy, t0)
	}
	if got, ok := g.Sticky(ts[1].Key); got != ts[1] || !ok {
		t.Errorf("Sticky while failing open = %v, %v; want the target, true", got, ok)
	}
}

func TestLookup(t *testing.T) {
	ts := newTargets(3)
	g := &Group{Name: "g", Targets: ts}
	for _, tg := range ts {
		if got, ok := g.Lookup(tg.Key); got != tg || !ok {
			t.Errorf("Lookup(%v) = %v, %v", tg.Key, got, ok)
		}
	}
	if _, ok := g.Lookup(target.Key{Group: "g", ID: "x", Port: 1}); ok {
		t.Error("Lookup of an unknown key succeeded")
	}
}
