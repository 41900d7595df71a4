package server

import (
	"net/http"

	"github.com/sluicelb/sluice/internal/metrics"
	"github.com/sluicelb/sluice/internal/snapshot"
	"github.com/sluicelb/sluice/internal/target"
)

// Metrics returns the handler of the Prometheus metrics.
func (s *Server) Metrics() http.Handler { return s.obs.Metrics.Handler() }

// MetricsRegistry returns the metrics, for reporting outcomes from outside
// the data plane (configuration changes).
func (s *Server) MetricsRegistry() *metrics.Registry { return s.obs.Metrics }

// ReopenLogs reopens the access log files (SIGUSR1, after logrotate).
func (s *Server) ReopenLogs() error { return s.obs.Reopen() }

// groupsByLB lists, per load balancer, the target groups its listeners
// forward to.
func groupsByLB(snap *snapshot.Snapshot) map[string]map[string]*snapshot.TargetGroup {
	out := map[string]map[string]*snapshot.TargetGroup{}
	for _, l := range snap.Listeners {
		m := out[l.LB.Name]
		if m == nil {
			m = map[string]*snapshot.TargetGroup{}
			out[l.LB.Name] = m
		}
		actions := append([]*snapshot.Action{l.Default}, l.Actions...)
		for _, a := range actions {
			if a == nil || a.Forward == nil {
				continue
			}
			for _, r := range a.Forward.Routes {
				m[r.Group.Name] = r.Group
			}
		}
	}
	return out
}

// metricsState is read at each scrape: healthy and unhealthy targets per
// load balancer and group (HealthyHostCount, UnHealthyHostCount) and
// certificate expiry.
func (s *Server) metricsState() metrics.State {
	var st metrics.State
	snap := s.cur.Load()
	if snap == nil {
		return st
	}
	for lb, groups := range groupsByLB(snap) {
		for name, tg := range groups {
			gh := metrics.GroupHealth{LoadBalancer: lb, TargetGroup: name}
			for _, t := range tg.Group.Targets {
				switch t.Health().State {
				case target.StateHealthy:
					gh.Healthy++
				case target.StateUnhealthy:
					gh.Unhealthy++
				}
			}
			st.Groups = append(st.Groups, gh)
		}
	}
	for _, c := range snap.Config.Certificates {
		if tc := s.certs.Current(c.Name); tc != nil && tc.Leaf != nil {
			st.Certificates = append(st.Certificates, metrics.CertExpiry{Name: c.Name, NotAfter: tc.Leaf.NotAfter})
		}
	}
	return st
}

// retainMetrics stops exporting the series of listeners, groups and
// targets snap no longer has.
func (s *Server) retainMetrics(snap *snapshot.Snapshot) {
	listeners := map[metrics.ListenerKey]bool{}
	for _, l := range snap.Listeners {
		listeners[metrics.ListenerKey{LoadBalancer: l.LB.Name, Listener: l.ID}] = true
	}
	groups := map[metrics.GroupKey]bool{}
	targets := map[metrics.TargetKey]bool{}
	for lb, gs := range groupsByLB(snap) {
		for name, tg := range gs {
			groups[metrics.GroupKey{LoadBalancer: lb, TargetGroup: name}] = true
			for _, t := range tg.Group.Targets {
				targets[metrics.TargetKey{LoadBalancer: lb, TargetGroup: name, Target: t.Addr}] = true
			}
		}
	}
	certs := map[string]bool{}
	for _, c := range snap.Config.Certificates {
		certs[c.Name] = true
	}
	s.obs.Metrics.Retain(metrics.Keep{
		Listener:    func(k metrics.ListenerKey) bool { return listeners[k] },
		TargetGroup: func(k metrics.GroupKey) bool { return groups[k] },
		Target:      func(k metrics.TargetKey) bool { return targets[k] },
		Certificate: func(n string) bool { return certs[n] },
	})
}
