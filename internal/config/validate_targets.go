package config

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func (v *validator) targetGroups() {
	names := map[string]string{}
	for i := range v.c.TargetGroups {
		tg := &v.c.TargetGroups[i]
		p := index("target_groups", i)
		v.name(p+".name", "target group", tg.Name, names)
		if tg.Name != "" && v.groups[tg.Name] == nil {
			v.groups[tg.Name] = tg
		}
		v.oneOf(p+".protocol", tg.Protocol, "HTTP", "HTTPS")
		v.oneOf(p+".protocol_version", tg.ProtocolVersion, "HTTP1", "HTTP2", "GRPC")
		v.intRange(p+".port", tg.Port, 1, 65535)
		v.targets(tg, p+".targets")
		if tg.HealthCheck != nil {
			v.healthCheck(tg.HealthCheck, p+".health_check", tg.ProtocolVersion == "GRPC")
		}
		v.attributes(&tg.Attributes, p+".attributes")
	}
}

func (v *validator) targets(tg *TargetGroup, p string) {
	seen := map[string]string{}
	for i, t := range tg.Targets {
		tp := index(p, i)
		key := strings.ToLower(strings.TrimSuffix(t.ID, "."))
		switch a, err := netip.ParseAddr(t.ID); {
		case t.ID == "":
			v.missing(tp+".id", "give the target's IP address or host name")
			continue
		case err == nil:
			key = a.Unmap().String()
		case !validHostname(t.ID):
			v.bad(tp+".id", t.ID, "is not an IP address or host name")
			continue
		}
		if t.Port < 0 || t.Port > 65535 {
			v.bad(tp+".port", t.Port, "is out of range (1–65535); leave it out to use the group's port")
			continue
		}
		port := t.Port
		if port == 0 {
			port = tg.Port
		}
		key += " " + strconv.Itoa(port)
		if prev, dup := seen[key]; dup {
			v.bad(tp+".id", t.ID, "on port %d is already registered as %s; remove the duplicate", port, prev)
		}
		seen[key] = tp
	}
}

// validHostname reports whether s is a DNS name: dot-separated labels of
// letters, digits and '-', optionally ending in a dot.
func validHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !isAlnum(r) && r != '-' {
				return false
			}
		}
	}
	return true
}

func (v *validator) healthCheck(hc *HealthCheck, p string, grpc bool) {
	v.oneOf(p+".protocol", hc.Protocol, "HTTP", "HTTPS")
	if hc.Port != TrafficPort {
		if n, err := strconv.Atoi(hc.Port); err != nil || n < 1 || n > 65535 {
			v.bad(p+".port", hc.Port, "is not a port; use 1–65535 or traffic-port")
		}
	}
	switch {
	case hc.Path == "" || hc.Path[0] != '/':
		v.bad(p+".path", hc.Path, "does not start with '/'")
	case utf8.RuneCountInString(hc.Path) > 1024:
		v.add(p+".path", "", "is longer than 1024 characters")
	}
	interval, timeout := hc.Interval, hc.Timeout
	v.durRange(p+".interval", interval, Duration(5*time.Second), Duration(300*time.Second))
	v.durRange(p+".timeout", timeout, Duration(2*time.Second), Duration(120*time.Second))
	// An interval out of range is the problem to report; the timeout,
	// often defaulted from it, is judged against a valid interval only.
	if timeout >= interval && interval >= Duration(5*time.Second) {
		v.bad(p+".timeout", timeout, "is not less than the interval (%s); shorten the timeout or lengthen the interval", seconds(interval))
	}
	v.intRange(p+".healthy_threshold", hc.HealthyThreshold, 2, 10)
	v.intRange(p+".unhealthy_threshold", hc.UnhealthyThreshold, 2, 10)
	if _, err := ParseMatcher(hc.Matcher, grpc); err != nil {
		example := `"200", "200,404" or "200-299"`
		if grpc {
			example = `"12", "0,12" or "0-99" (gRPC status codes)`
		}
		v.bad(p+".matcher", hc.Matcher, "is not a valid matcher: %v; write codes like %s", err, example)
	}
}

func (v *validator) attributes(at *TargetGroupAttributes, p string) {
	if d := at.DeregistrationDelay; d != nil {
		v.durRange(p+".deregistration_delay", *d, 0, Duration(3600*time.Second))
	}
	lor := at.LoadBalancingAlgorithm == "least_outstanding_requests"
	v.oneOf(p+".load_balancing_algorithm", at.LoadBalancingAlgorithm, "round_robin", "least_outstanding_requests", "weighted_random")
	if at.SlowStart != 0 {
		v.durRange(p+".slow_start", at.SlowStart, Duration(30*time.Second), Duration(900*time.Second))
		if lor {
			v.bad(p+".slow_start", at.SlowStart, "cannot be combined with least_outstanding_requests, as on ALB; remove slow_start or use round_robin")
		}
	}
	if st := at.Stickiness; st != nil {
		v.stickiness(st, p+".stickiness")
	}
	if h := at.TargetGroupHealth; h != nil {
		hp := p + ".target_group_health.unhealthy_state_routing"
		if n := h.UnhealthyStateRouting.MinimumHealthyTargetsCount; n < 1 {
			v.bad(hp+".minimum_healthy_targets_count", n, "is less than 1")
		}
		if n := h.UnhealthyStateRouting.MinimumHealthyTargetsPercentage; n < 0 || n > 100 {
			v.bad(hp+".minimum_healthy_targets_percentage", n, "is out of range (0–100); 0 turns the percentage off")
		}
	}
}

func (v *validator) stickiness(st *Stickiness, p string) {
	if st.Enabled || st.Type != "" {
		v.oneOf(p+".type", st.Type, StickinessLBCookie, StickinessAppCookie)
	}
	if st.Enabled || st.Duration != 0 {
		v.durRange(p+".duration", st.Duration, Duration(time.Second), Duration(7*24*time.Hour))
	}
	switch {
	case st.Type == StickinessLBCookie && st.CookieName != "":
		v.bad(p+".cookie_name", st.CookieName, "is only for app_cookie stickiness; lb_cookie uses sluice's own cookie, remove it")
	case st.Type != StickinessAppCookie:
	case st.CookieName == "":
		if st.Enabled {
			v.missing(p+".cookie_name", "app_cookie stickiness follows the application's cookie; name it")
		}
	case !isToken(st.CookieName):
		v.bad(p+".cookie_name", st.CookieName, "is not a valid cookie name")
	case strings.HasPrefix(strings.ToUpper(st.CookieName), "AWSALB"):
		v.bad(p+".cookie_name", st.CookieName, "starts with AWSALB, which is reserved for the load balancer's own cookies; choose another name")
	}
}
