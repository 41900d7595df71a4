// Package health runs active health checks against targets and drives each
// target's health state machine, with ALB semantics.
//
// A Manager owns one checker per target it is told about with Sync. A
// checker probes its target every Interval (measured from probe start, never
// two probes at once) and publishes state changes on the target with
// target.Target.CompareAndSetHealth, so a concurrent passive ejection by the
// proxy is never overwritten by a stale result:
//
//	initial   --1 success---------------------> healthy
//	initial   --UnhealthyThreshold failures---> unhealthy
//	healthy   --UnhealthyThreshold failures---> unhealthy
//	unhealthy --HealthyThreshold successes----> healthy
//
// Checks disabled means state unavailable (Target.HealthCheckDisabled) and
// no probes. Draining (and removing a target from Sync) is the caller's
// business: the manager neither probes a draining target nor changes its
// state.
package health
