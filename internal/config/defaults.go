package config

import (
	"cmp"
	"github.com/sluicelb/sluice/internal/certs"
	"slices"
	"time"
)

// Defaults that are not obvious from a field's zero value, as on ALB.
const (
	DefaultIdleTimeout         = Duration(60 * time.Second)
	DefaultClientKeepAlive     = Duration(3600 * time.Second)
	DefaultDeregistrationDelay = Duration(300 * time.Second)
	DefaultStickinessDuration  = Duration(24 * time.Hour)
	DefaultGroupStickiness     = Duration(time.Hour)
	DefaultHealthCheckInterval = Duration(30 * time.Second)
	DefaultHealthCheckTimeout  = Duration(5 * time.Second)
	// TrafficPort is the health check port meaning "the target's own port".
	TrafficPort = "traffic-port"
)

// Redirect placeholders and their defaults.
const (
	RedirectProtocol = "#{protocol}"
	RedirectHost     = "#{host}"
	RedirectPort     = "#{port}"
	RedirectPath     = "/#{path}"
	RedirectQuery    = "#{query}"
)

// ApplyDefaults fills every zero-valued field that has a default with that
// default, as ALB does; Load and Decode call it before Validate. It is
// idempotent. Besides filling values it normalises two things:
//   - an action written with the target_group shorthand gets an equivalent
//     Forward (one group, weight 1); TargetGroup stays set so errors can point
//     at what the user wrote, and Forward is what the data plane reads;
//   - an action list in which every action has an order is sorted by it.
func (c *Config) ApplyDefaults() {
	for i := range c.LoadBalancers {
		lb := &c.LoadBalancers[i]
		lb.applyDefaults()
		for j := range lb.Listeners {
			l := &lb.Listeners[j]
			if l.Protocol == "HTTPS" && l.SSLPolicy == "" {
				l.SSLPolicy = certs.DefaultPolicy
			}
			if m := l.MutualAuthentication; m != nil && m.Mode == "" {
				m.Mode = MTLSOff
			}
			lp := index(index("load_balancers", i)+".listeners", j)
			c.applyActionDefaults(l.DefaultActions, lp+".default_actions")
			for k := range l.Rules {
				c.applyActionDefaults(l.Rules[k].Actions, index(lp+".rules", k)+".actions")
			}
		}
	}
	for i := range c.TargetGroups {
		c.TargetGroups[i].applyDefaults()
	}
	for i := range c.Certificates {
		c.certificateDefaults(&c.Certificates[i])
	}
}

// certificateDefaults fills a certificate source's defaults. The default
// challenges depend on the listeners: http-01 when an HTTP listener exists,
// tls-alpn-01 when an HTTPS listener serves the certificate.
func (c *Config) certificateDefaults(cert *Certificate) {
	src := cert.SourceOrDefault()
	if src != SourceInternal && src != SourceACME {
		return
	}
	if cert.KeyType == "" {
		cert.KeyType = DefaultKeyType
	}
	if src == SourceInternal {
		if cert.Lifetime == 0 {
			cert.Lifetime = DefaultInternalLifetime
		}
		return
	}
	if len(cert.Challenges) == 0 {
		if cert.DNS != nil {
			cert.Challenges = []string{ChallengeDNS01}
		} else {
			v := validator{c: c}
			if v.hasHTTPListener() {
				cert.Challenges = append(cert.Challenges, ChallengeHTTP01)
			}
			if v.servedOnHTTPS(cert.Name) {
				cert.Challenges = append(cert.Challenges, ChallengeTLSALPN01)
			}
		}
	}
	if d := cert.DNS; d != nil {
		switch d.Provider {
		case DNSProviderRFC2136:
			if d.TSIGAlgorithm == "" {
				d.TSIGAlgorithm = DefaultTSIGAlgorithm
			}
		case DNSProviderExec:
			if d.CommandTimeout == 0 {
				d.CommandTimeout = Duration(2 * time.Minute)
			}
		}
		if d.PropagationTimeout == 0 {
			d.PropagationTimeout = DefaultPropagationTimeout
		}
	}
}

func (lb *LoadBalancer) applyDefaults() {
	if lb.IdleTimeout == 0 {
		lb.IdleTimeout = DefaultIdleTimeout
	}
	if lb.ClientKeepAlive == 0 {
		lb.ClientKeepAlive = DefaultClientKeepAlive
	}
	if lb.XFFHeaderProcessing == "" {
		lb.XFFHeaderProcessing = "append"
	}
	if lb.DesyncMitigationMode == "" {
		lb.DesyncMitigationMode = "defensive"
	}
	if lb.HTTP2Enabled == nil {
		lb.HTTP2Enabled = new(true)
	}
	if al := lb.AccessLogs; al != nil {
		al.Format = cmp.Or(al.Format, LogFormatALB)
		al.MaxBackups = cmp.Or(al.MaxBackups, 5)
	}
}

// applyActionDefaults fills the defaults of the actions in list, found at
// path in the file, and sorts them by order.
func (c *Config) applyActionDefaults(list []Action, path string) {
	for i := range list {
		list[i].applyDefaults()
	}
	ordered := len(list) > 1
	for _, a := range list {
		ordered = ordered && a.Order != 0
	}
	if !ordered {
		return
	}
	perm := make([]int, len(list))
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(list[a].Order, list[b].Order) })
	if slices.IsSorted(perm) {
		return
	}
	sorted := make([]Action, len(list))
	for i, from := range perm {
		sorted[i] = list[from]
	}
	copy(list, sorted)
	c.pos.reorder(path, perm)
}

func (a *Action) applyDefaults() {
	if a.Type == ActionForward && a.TargetGroup != "" && a.Forward == nil {
		a.Forward = &ForwardConfig{TargetGroups: []WeightedTargetGroup{{Name: a.TargetGroup, Weight: new(1)}}}
	}
	if f := a.Forward; f != nil {
		for i := range f.TargetGroups {
			if f.TargetGroups[i].Weight == nil {
				f.TargetGroups[i].Weight = new(1)
			}
		}
		if f.Stickiness != nil && f.Stickiness.Duration == 0 {
			f.Stickiness.Duration = DefaultGroupStickiness
		}
	}
	if r := a.Redirect; r != nil {
		r.Protocol = cmp.Or(r.Protocol, RedirectProtocol)
		r.Host = cmp.Or(r.Host, RedirectHost)
		r.Port = cmp.Or(r.Port, RedirectPort)
		r.Path = cmp.Or(r.Path, RedirectPath)
		if r.Query == nil {
			r.Query = new(RedirectQuery)
		}
	}
	if fr := a.FixedResponse; fr != nil && fr.ContentType == "" {
		fr.ContentType = "text/plain"
	}
}

func (tg *TargetGroup) applyDefaults() {
	if tg.ProtocolVersion == "" {
		tg.ProtocolVersion = "HTTP1"
	}
	grpc := tg.ProtocolVersion == "GRPC"
	if tg.HealthCheck == nil {
		tg.HealthCheck = &HealthCheck{}
	}
	hc := tg.HealthCheck
	if hc.Enabled == nil {
		hc.Enabled = new(true)
	}
	if hc.Protocol == "" {
		// An invalid group protocol is reported once, on the group.
		hc.Protocol = choose(tg.Protocol == "HTTPS", "HTTPS", "HTTP")
	}
	hc.Port = cmp.Or(hc.Port, TrafficPort)
	hc.Path = cmp.Or(hc.Path, choose(grpc, "/AWS.ALB/healthcheck", "/"))
	hc.Matcher = cmp.Or(hc.Matcher, choose(grpc, "12", "200"))
	hc.Interval = cmp.Or(hc.Interval, DefaultHealthCheckInterval)
	if hc.Timeout == 0 {
		// ALB's 5s, but never as long as a shorter interval the user chose:
		// "interval: 5s" alone should just work.
		hc.Timeout = max(min(DefaultHealthCheckTimeout, hc.Interval-Duration(time.Second)), Duration(2*time.Second))
	}
	hc.HealthyThreshold = cmp.Or(hc.HealthyThreshold, 5)
	hc.UnhealthyThreshold = cmp.Or(hc.UnhealthyThreshold, 2)

	at := &tg.Attributes
	if at.DeregistrationDelay == nil {
		at.DeregistrationDelay = new(DefaultDeregistrationDelay)
	}
	at.LoadBalancingAlgorithm = cmp.Or(at.LoadBalancingAlgorithm, "round_robin")
	if st := at.Stickiness; st != nil && st.Enabled {
		st.Type = cmp.Or(st.Type, StickinessLBCookie)
		st.Duration = cmp.Or(st.Duration, DefaultStickinessDuration)
	}
	if at.TargetGroupHealth == nil {
		at.TargetGroupHealth = &TargetGroupHealth{}
	}
	usr := &at.TargetGroupHealth.UnhealthyStateRouting
	usr.MinimumHealthyTargetsCount = cmp.Or(usr.MinimumHealthyTargetsCount, 1)
}

func choose[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}
