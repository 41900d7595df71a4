package snapshot

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicelb/sluice/internal/balancer"
	"github.com/sluicelb/sluice/internal/certs"
	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/health"
	"github.com/sluicelb/sluice/internal/router"
	"github.com/sluicelb/sluice/internal/target"
	"github.com/sluicelb/sluice/internal/upstream"
)

// Prepared is a compiled configuration not yet committed: building it
// changed no live state.
type Prepared struct {
	cfg       *config.Config
	env       Env
	listeners map[string]*Listener
	groups    map[string]*pendingGroup
	routes    []*pendingRoute
}

type pendingGroup struct {
	tg     *TargetGroup
	cfg    *config.TargetGroup
	policy balancer.Policy
	health health.Settings
	keys   []target.Key
}

type pendingRoute struct {
	route *Route
	lb    *LoadBalancer
}

// Prepare compiles cfg, which must have passed config validation. It loads
// certificate files and compiles rule patterns; it fails without side
// effects.
func Prepare(cfg *config.Config, env Env) (*Prepared, error) {
	p := &Prepared{cfg: cfg, env: env, listeners: map[string]*Listener{}, groups: map[string]*pendingGroup{}}
	for i := range cfg.TargetGroups {
		if err := p.prepareGroup(&cfg.TargetGroups[i]); err != nil {
			return nil, fmt.Errorf("target_groups[%d] (%s): %w", i, cfg.TargetGroups[i].Name, err)
		}
	}
	for i := range cfg.LoadBalancers {
		lbc := &cfg.LoadBalancers[i]
		lb := compileLB(lbc)
		for j := range lbc.Listeners {
			lc := &lbc.Listeners[j]
			l, err := p.prepareListener(lb, lc)
			if err != nil {
				return nil, fmt.Errorf("load_balancers[%d].listeners[%d] (port %d): %w", i, j, lc.Port, err)
			}
			p.listeners[l.Addr] = l
		}
	}
	return p, nil
}

func compileLB(c *config.LoadBalancer) *LoadBalancer {
	return &LoadBalancer{
		Name:                    c.Name,
		IdleTimeout:             c.IdleTimeout.D(),
		ClientKeepAlive:         c.ClientKeepAlive.D(),
		XFF:                     c.XFFHeaderProcessing,
		XFFClientPort:           c.XFFClientPort,
		PreserveHostHeader:      c.PreserveHostHeader,
		DropInvalidHeaderFields: c.DropInvalidHeaderFields,
		DesyncMitigationMode:    c.DesyncMitigationMode,
		HTTP2:                   c.HTTP2Enabled == nil || *c.HTTP2Enabled,
		TLSVersionAndCipher:     c.XAmznTLSVersionAndCipherSuite,
	}
}

func (p *Prepared) prepareGroup(c *config.TargetGroup) error {
	a := c.Attributes
	pol, err := balancer.NewPolicy(a.LoadBalancingAlgorithm, balancer.PolicyOptions{
		SlowStart: a.SlowStart.D(), Clock: p.env.Clock})
	if err != nil {
		return err
	}
	tg := &TargetGroup{Name: c.Name, ProtocolVersion: c.ProtocolVersion, HTTPS: c.Protocol == "HTTPS"}
	if s := a.Stickiness; s != nil && s.Enabled {
		tg.Stickiness = s.Type
		tg.StickinessDuration = s.Duration.D()
		tg.AppCookieName = s.CookieName
	}
	hs, err := healthSettings(c)
	if err != nil {
		return err
	}
	g := &pendingGroup{tg: tg, cfg: c, policy: pol, health: hs}
	for _, t := range c.Targets {
		port := t.Port
		if port == 0 {
			port = c.Port
		}
		g.keys = append(g.keys, target.Key{Group: c.Name, ID: t.ID, Port: port})
	}
	p.groups[c.Name] = g
	return nil
}

func healthSettings(c *config.TargetGroup) (health.Settings, error) {
	hc := c.HealthCheck
	if hc == nil {
		hc = &config.HealthCheck{}
	}
	grpc := c.ProtocolVersion == "GRPC"
	ranges, err := config.ParseMatcher(hc.Matcher, grpc)
	if err != nil {
		return health.Settings{}, fmt.Errorf("health_check.matcher: %w", err)
	}
	port := 0
	if hc.Port != "" && hc.Port != "traffic-port" {
		if port, err = strconv.Atoi(hc.Port); err != nil {
			return health.Settings{}, fmt.Errorf("health_check.port: %w", err)
		}
	}
	return health.Settings{
		Enabled:            hc.Enabled == nil || *hc.Enabled,
		Protocol:           hc.Protocol,
		Port:               port,
		Path:               hc.Path,
		Interval:           hc.Interval.D(),
		Timeout:            hc.Timeout.D(),
		HealthyThreshold:   hc.HealthyThreshold,
		UnhealthyThreshold: hc.UnhealthyThreshold,
		Matcher:            health.NewMatcher(ranges),
		GRPC:               grpc,
	}, nil
}

func (p *Prepared) prepareListener(lb *LoadBalancer, c *config.Listener) (*Listener, error) {
	l := &Listener{LB: lb, HTTPS: c.Protocol == "HTTPS", Port: c.Port, PortStr: strconv.Itoa(c.Port), Addr: ListenerAddr(*c),
		ID: lb.Name + ":" + strconv.Itoa(c.Port)}
	var rules []router.Rule
	for i, r := range c.Rules {
		conds, err := compileConditions(r.Conditions)
		if err != nil {
			return nil, fmt.Errorf("rules[%d] (priority %d): %w", i, r.Priority, err)
		}
		a, err := p.compileActions(lb, r.Actions, r.Priority)
		if err != nil {
			return nil, fmt.Errorf("rules[%d] (priority %d): %w", i, r.Priority, err)
		}
		rules = append(rules, router.Rule{Priority: r.Priority, Conditions: conds, Action: len(l.Actions)})
		l.Actions = append(l.Actions, a)
	}
	t, err := router.NewTable(rules)
	if err != nil {
		return nil, err
	}
	l.Router = t
	if l.Default, err = p.compileActions(lb, c.DefaultActions, 0); err != nil {
		return nil, fmt.Errorf("default_actions: %w", err)
	}
	switch {
	case l.HTTPS:
		if err := p.prepareTLS(l, c); err != nil {
			return nil, err
		}
	case p.env.Certificates != nil:
		l.ACMEChallenge = p.env.Certificates.HTTPChallenge
	}
	return l, nil
}

func (p *Prepared) prepareTLS(l *Listener, c *config.Listener) error {
	cm := p.env.Certificates
	if cm == nil {
		return errors.New("HTTPS listener without a certificate manager")
	}
	get, err := cm.GetCertificateFunc(c.Certificates)
	if err != nil {
		return err
	}
	pol, ok := certs.LookupPolicy(c.SSLPolicy)
	if !ok {
		pol, _ = certs.LookupPolicy(certs.DefaultPolicy)
	}
	protos := []string{"http/1.1"}
	if l.LB.HTTP2 {
		protos = []string{"h2", "http/1.1"}
	}
	l.TLS = &tls.Config{GetCertificate: get, NextProtos: protos}
	pol.Apply(l.TLS)
	cm.ConfigureTLS(l.TLS)
	l.TLSHeaders.VersionAndCipher = l.LB.TLSVersionAndCipher
	if m := c.MutualAuthentication; m != nil && m.Mode != config.MTLSOff {
		var ts *certs.TrustStore
		if m.Mode == config.MTLSVerify {
			crls := make([]string, len(m.RevocationLists))
			for i, f := range m.RevocationLists {
				crls[i] = p.cfg.Resolve(f)
			}
			var err error
			if ts, err = certs.LoadTrustStore(p.cfg.Resolve(m.TrustStore), crls); err != nil {
				return fmt.Errorf("mutual_authentication: %w", err)
			}
		}
		ts.Apply(l.TLS, m.Mode, m.IgnoreClientCertificateExpiry)
		l.TLSHeaders.MTLSMode = m.Mode
		if ts != nil {
			l.ClientVerifier = &ClientVerifier{ts: ts, ignoreExpiry: m.IgnoreClientCertificateExpiry}
		}
	}
	return nil
}

func compileConditions(cs []config.Condition) ([]router.Condition, error) {
	var out []router.Condition
	for _, c := range cs {
		var (
			rc  router.Condition
			err error
		)
		switch c.Field {
		case config.FieldHostHeader:
			rc, err = router.HostHeader(c.Values)
		case config.FieldPathPattern:
			rc, err = router.PathPattern(c.Values)
		case config.FieldHTTPRequestMethod:
			rc, err = router.RequestMethod(c.Values)
		case config.FieldSourceIP:
			rc, err = router.SourceIP(c.Values)
		case config.FieldHTTPHeader:
			if c.HTTPHeader == nil {
				return nil, fmt.Errorf("http-header condition without http_header")
			}
			rc, err = router.HTTPHeader(c.HTTPHeader.Name, c.HTTPHeader.Values)
		case config.FieldQueryString:
			kv := make([]router.KeyValue, len(c.QueryString))
			for i, q := range c.QueryString {
				kv[i] = router.KeyValue{Key: q.Key, Value: q.Value}
			}
			rc, err = router.QueryString(kv)
		default:
			err = fmt.Errorf("unknown condition field %q", c.Field)
		}
		if err != nil {
			return nil, fmt.Errorf("condition %s: %w", c.Field, err)
		}
		out = append(out, rc)
	}
	return out, nil
}

// compileActions compiles an action list; validation guarantees it ends in
// exactly one terminal action, which is the one that counts.
func (p *Prepared) compileActions(lb *LoadBalancer, as []config.Action, prio int) (*Action, error) {
	if len(as) == 0 {
		return nil, fmt.Errorf("no actions")
	}
	c := as[len(as)-1]
	a := &Action{Priority: prio}
	switch c.Type {
	case config.ActionForward:
		a.Kind = Forward
		f := &ForwardAction{}
		groups := []config.WeightedTargetGroup{{Name: c.TargetGroup}}
		if c.Forward != nil && len(c.Forward.TargetGroups) > 0 {
			groups = c.Forward.TargetGroups
			if s := c.Forward.Stickiness; s != nil && s.Enabled {
				f.GroupStickiness = s.Duration.D()
			}
		}
		for _, wg := range groups {
			if _, ok := p.groups[wg.Name]; !ok {
				return nil, fmt.Errorf("target group %q is not defined", wg.Name)
			}
			w := 1
			if wg.Weight != nil {
				w = *wg.Weight
			}
			if w == 0 {
				continue
			}
			r := &Route{Weight: w}
			p.routes = append(p.routes, &pendingRoute{route: r, lb: lb})
			r.Group = p.groups[wg.Name].tg
			f.Routes = append(f.Routes, r)
			f.total += w
		}
		if len(f.Routes) == 0 {
			return nil, fmt.Errorf("forward has no target group with a weight above 0")
		}
		a.Forward = f
	case config.ActionRedirect:
		a.Kind = Redirect
		rc := c.Redirect
		ra := &RedirectAction{Protocol: rc.Protocol, Host: rc.Host, Port: rc.Port, Path: rc.Path,
			Query: "#{query}", Status: http.StatusMovedPermanently}
		if rc.Query != nil {
			ra.Query = *rc.Query
		}
		if rc.StatusCode == "HTTP_302" {
			ra.Status = http.StatusFound
		}
		a.Redirect = ra
	case config.ActionFixedResponse:
		a.Kind = FixedResponse
		code, err := strconv.Atoi(c.FixedResponse.StatusCode)
		if err != nil {
			return nil, fmt.Errorf("fixed_response.status_code: %w", err)
		}
		ct := c.FixedResponse.ContentType
		if ct == "" {
			ct = "text/plain"
		}
		a.Fixed = &FixedAction{Status: code, ContentType: ct, Body: []byte(c.FixedResponse.MessageBody)}
	default:
		return nil, fmt.Errorf("unsupported action type %q", c.Type)
	}
	return a, nil
}

// Commit registers the configuration's targets (reusing those that stay,
// draining those that go) and returns the snapshot to swap in. It cannot
// fail. Call it once.
func (p *Prepared) Commit() *Snapshot {
	want := map[target.Key]time.Duration{}
	for _, g := range p.groups {
		delay := 300 * time.Second
		if d := g.cfg.Attributes.DeregistrationDelay; d != nil {
			delay = d.D()
		}
		for _, k := range g.keys {
			want[k] = delay
		}
	}
	live := p.env.Registry.Apply(want)
	s := &Snapshot{Config: p.cfg, Listeners: p.listeners, TargetGroups: map[string]*TargetGroup{},
		Pools: map[*upstream.Pool]bool{}, Keyring: p.env.Keyring}
	for name, g := range p.groups {
		ts := make([]*target.Target, 0, len(g.keys))
		for _, k := range g.keys {
			ts = append(ts, live[k])
		}
		minCount, minPct := 1, 0
		if h := g.cfg.Attributes.TargetGroupHealth; h != nil {
			minCount = h.UnhealthyStateRouting.MinimumHealthyTargetsCount
			minPct = h.UnhealthyStateRouting.MinimumHealthyTargetsPercentage
		}
		g.tg.Group = &balancer.Group{Name: name, Targets: ts, Policy: g.policy,
			MinHealthyCount: minCount, MinHealthyPercent: minPct}
		s.TargetGroups[name] = g.tg
		s.Health = append(s.Health, health.GroupSpec{Name: name, Settings: g.health, Targets: ts})
	}
	for _, pr := range p.routes {
		tg := pr.route.Group
		set := upstream.Settings{HTTPS: tg.HTTPS, HTTP2: tg.ProtocolVersion != "HTTP1", IdleTimeout: pr.lb.IdleTimeout}
		pr.route.Pools = make(map[*target.Target]*upstream.Pool, len(tg.Group.Targets))
		for _, t := range tg.Group.Targets {
			pool := p.env.Pools.Get(t, set)
			pr.route.Pools[t] = pool
			s.Pools[pool] = true
		}
	}
	return s
}

// ListenerAddrs lists the bind addresses the configuration needs.
func (p *Prepared) ListenerAddrs() []string {
	out := make([]string, 0, len(p.listeners))
	for a := range p.listeners {
		out = append(out, a)
	}
	return out
}
