package metrics

import "github.com/sluicelb/sluice/internal/accesslog"

// Request records one finished request (or WebSocket/upgrade, at its end)
// from its access log entry. It does not count target connection or TLS
// errors: the upstream reports each through TargetConnError and
// TargetTLSError as it happens, retried attempts included.
//
// A response is the load balancer's own (origin elb) when it sent a status
// and that status is not the target's; a target's 1xx (101 Switching
// Protocols) counts in no class.
func (r *Registry) Request(e *accesslog.Entry) {
	ls := r.listener(e.LoadBalancer, e.Listener)
	ls.requests.Add(1)

	if e.ELBStatus != 0 && e.ELBStatus != e.TargetStatus {
		if c := codeClass(e.ELBStatus); c >= 0 {
			ls.responses[originELB][c].Add(1)
		}
		if e.ELBStatus >= 400 {
			ls.elbCodes[elbCodeIndex(e.ELBStatus)].Add(1)
		}
	}
	targetClass := -1
	if e.TargetStatus != 0 {
		if targetClass = codeClass(e.TargetStatus); targetClass >= 0 {
			ls.responses[originTarget][targetClass].Add(1)
		}
	}
	if e.ReceivedBytes > 0 {
		ls.bytes[0].Add(uint64(e.ReceivedBytes))
	}
	if e.SentBytes > 0 {
		ls.bytes[1].Add(uint64(e.SentBytes))
	}
	for _, a := range e.ActionsExecuted {
		switch a {
		case "redirect":
			ls.redirects.Add(1)
		case "fixed-response":
			ls.fixed.Add(1)
		}
	}
	if e.RulesEvaluated > 0 {
		ls.ruleEvals.Add(uint64(e.RulesEvaluated))
	}
	if e.Classification != "" {
		if i := classificationIndex(e.Classification); i >= 0 {
			ls.desync[i].Add(1)
		}
	}
	if e.NonSticky {
		ls.nonSticky.Add(1)
	}
	if !e.Time.IsZero() && !e.RequestCreationTime.IsZero() {
		if d := e.Time.Sub(e.RequestCreationTime); d >= 0 {
			ls.duration.observe(d)
		}
	}

	if e.TargetGroup == "" {
		return
	}
	gs := r.group(e.LoadBalancer, e.TargetGroup)
	if targetClass >= 0 {
		gs.responses[targetClass].Add(1)
	}
	if e.Target != "" && e.TargetProcessingTime >= 0 {
		gs.responseTime.observe(e.TargetProcessingTime)
	}
	if len(e.TargetList) > 0 {
		for _, t := range e.TargetList {
			r.target(e.LoadBalancer, e.TargetGroup, t).requests.Add(1)
		}
	} else if e.Target != "" {
		r.target(e.LoadBalancer, e.TargetGroup, e.Target).requests.Add(1)
	}
}

// ConnOpened records a client connection accepted by a listener
// (NewConnectionCount, and one more ActiveConnectionCount). Every call must
// be matched by a ConnClosed, also when the TLS handshake fails.
func (r *Registry) ConnOpened(lb, listener string) {
	ls := r.listener(lb, listener)
	ls.newConns.Add(1)
	ls.active.Add(1)
}

// ConnClosed records the end of a connection ConnOpened recorded.
func (r *Registry) ConnClosed(lb, listener string) {
	// Only Load: a listener's series are never pruned while connections
	// are open, so a missing one means there is nothing to decrement.
	if v, ok := r.listeners.Load(ListenerKey{lb, listener}); ok {
		v.(*listenerSeries).active.Add(-1)
	}
}

// ConnRejected records a connection refused before it was accepted, at a
// connection limit (RejectedConnectionCount).
func (r *Registry) ConnRejected(lb, listener string) {
	r.listener(lb, listener).rejected.Add(1)
}

// TLSError records a failed client TLS handshake
// (ClientTLSNegotiationErrorCount).
func (r *Registry) TLSError(lb, listener string) {
	r.listener(lb, listener).tlsErrors.Add(1)
}

// TargetConnError records a connection to a target that could not be
// established (TargetConnectionErrorCount).
func (r *Registry) TargetConnError(lb, tg, target string) {
	r.target(lb, tg, target).connErrors.Add(1)
}

// TargetTLSError records a failed TLS handshake with a target
// (TargetTLSNegotiationErrorCount).
func (r *Registry) TargetTLSError(lb, tg, target string) {
	r.target(lb, tg, target).tlsErrors.Add(1)
}

// ACME records an ACME issuance or renewal attempt for a certificate.
func (r *Registry) ACME(cert string, ok bool) {
	loadOrNew[string, resultSeries](&r.acme, cert).add(ok)
}

// ConfigReload records a configuration load from source (file, api, etcd:
// a handful of fixed names, never user input); a success also sets the
// last-success time.
func (r *Registry) ConfigReload(source string, ok bool) {
	loadOrNew[string, resultSeries](&r.reloads, source).add(ok)
	if ok {
		r.lastReload.Store(r.clock.Now().UnixNano())
	}
}
