package health

import (
	"time"

	"github.com/sluicelb/sluice/internal/target"
)

// streak counts consecutive probe outcomes since the target's health was
// last changed, by the checker or by anybody else.
type streak struct{ ok, bad int }

func (s *streak) add(r result) {
	if r.ok {
		s.ok, s.bad = s.ok+1, 0
	} else {
		s.ok, s.bad = 0, s.bad+1
	}
}

// transition returns the health cur moves to after probe result r, with
// st already counting r, and whether it is a change at all.
//
// A target in initial needs one success to become healthy; any other
// non-healthy target (unhealthy, including ejected by the proxy) needs
// HealthyThreshold. An unhealthy target whose failure reason changes keeps
// its state and Since but shows the latest reason.
func transition(cur target.Health, r result, st streak, s Settings, now time.Time) (target.Health, bool) {
	if r.ok {
		switch {
		case cur.State == target.StateHealthy:
			return cur, false
		case cur.State == target.StateInitial, st.ok >= s.HealthyThreshold:
			return target.Health{State: target.StateHealthy, Since: now}, true
		}
		return cur, false
	}
	switch {
	case cur.State == target.StateUnhealthy:
		if cur.Reason == r.reason && cur.Description == r.desc {
			return cur, false
		}
		return target.Health{State: target.StateUnhealthy, Reason: r.reason, Description: r.desc,
			Since: cur.Since}, true
	case st.bad >= s.UnhealthyThreshold:
		return target.Health{State: target.StateUnhealthy, Reason: r.reason, Description: r.desc,
			Since: now}, true
	}
	return cur, false
}

// checking is the state a target enters when its checker starts.
func checking(now time.Time) target.Health {
	return target.Health{State: target.StateInitial, Reason: target.ReasonInitialHealthChecking,
		Description: "Initial health checking in progress", Since: now}
}

// disabled is the state of a target whose group has checks turned off.
func disabled(now time.Time) target.Health {
	return target.Health{State: target.StateUnavailable, Reason: target.ReasonHealthCheckDisabled,
		Description: "Health checks are disabled", Since: now}
}
