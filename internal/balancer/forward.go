package balancer

import "time"

// WeightedGroup is one target group of a forward action with its weight.
type WeightedGroup struct {
	Group *Group
	// Weight is 0–999; a group of weight 0 is never picked by weight, but
	// a client already pinned to it by group stickiness stays there.
	Weight int
}

// Forward is a forward action: one to five weighted target groups and
// optional group stickiness.
type Forward struct {
	Groups []WeightedGroup
	// Stickiness is how long a client stays with the group first picked
	// for it (the AWSALBTG cookie). Zero means off.
	Stickiness time.Duration
}

// PickGroup picks a group in proportion to the weights, using rnd as a
// uniformly random value. It returns nil if every weight is zero (or there
// are no groups), which the caller answers with 503.
func (f *Forward) PickGroup(rnd uint64) *Group {
	var total uint64
	for _, wg := range f.Groups {
		if wg.Weight > 0 {
			total += uint64(wg.Weight)
		}
	}
	if total == 0 {
		return nil
	}
	r := below(rnd, total)
	for _, wg := range f.Groups {
		if wg.Weight <= 0 {
			continue
		}
		w := uint64(wg.Weight)
		if r < w {
			return wg.Group
		}
		r -= w
	}
	return nil // unreachable: r < total
}

// StickyGroup returns the group named by a group stickiness cookie if it is
// one of the forward's groups. As on ALB, stickiness takes precedence over
// the weights: a pinned client stays with its group even at weight 0, until
// the cookie expires.
func (f *Forward) StickyGroup(name string) (*Group, bool) {
	for _, wg := range f.Groups {
		if wg.Group != nil && wg.Group.Name == name {
			return wg.Group, true
		}
	}
	return nil, false
}
