package balancer

import (
	"testing"
	"time"
)

func TestPickGroupWeights(t *testing.T) {
	const n = 100000
	blue, green, off := &Group{Name: "blue"}, &Group{Name: "green"}, &Group{Name: "off"}
	f := &Forward{Groups: []WeightedGroup{{blue, 90}, {off, 0}, {green, 10}}}
	rnd := pcg(3)
	counts := map[*Group]int{}
	for range n {
		counts[f.PickGroup(rnd())]++
	}
	if counts[off] != 0 {
		t.Errorf("weight 0 group picked %d times", counts[off])
	}
	if got := float64(counts[blue]) / n; !within(got, 0.9, 0.01) {
		t.Errorf("blue share %.4f, want 0.90 ± 0.01", got)
	}
	if got := float64(counts[green]) / n; !within(got, 0.1, 0.01) {
		t.Errorf("green share %.4f, want 0.10 ± 0.01", got)
	}
}

func TestPickGroupEdges(t *testing.T) {
	a, b := &Group{Name: "a"}, &Group{Name: "b"}
	tests := []struct {
		name string
		f    Forward
		rnd  uint64
		want *Group
	}{
		{"single", Forward{Groups: []WeightedGroup{{a, 1}}}, ^uint64(0), a},
		{"all zero", Forward{Groups: []WeightedGroup{{a, 0}, {b, 0}}}, 0, nil},
		{"none", Forward{}, 0, nil},
		{"lowest draw", Forward{Groups: []WeightedGroup{{a, 0}, {b, 5}}}, 0, b},
		{"highest draw", Forward{Groups: []WeightedGroup{{a, 5}, {b, 0}}}, ^uint64(0), a},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.PickGroup(tc.rnd); got != tc.want {
				t.Errorf("PickGroup = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStickyGroup(t *testing.T) {
	a, b := &Group{Name: "a"}, &Group{Name: "b"}
	f := &Forward{Groups: []WeightedGroup{{a, 1}, {b, 0}}, Stickiness: time.Hour}
	if g, ok := f.StickyGroup("b"); g != b || !ok {
		t.Errorf("StickyGroup(b) = %v, %v; stickiness must win over weight 0", g, ok)
	}
	if _, ok := f.StickyGroup("c"); ok {
		t.Error("StickyGroup of a group not in the forward succeeded")
	}
}
