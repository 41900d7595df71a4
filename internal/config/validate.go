package config

import (
	"fmt"
	"github.com/sluicelb/sluice/internal/certs"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks c against ALB's rules and returns every problem found as
// an ErrorList, or nil. It expects ApplyDefaults to have run, as Load and
// Decode do; it does not modify c.
func (c *Config) Validate() error {
	v := &validator{c: c, groups: map[string]*TargetGroup{}, certs: map[string]bool{}}
	if c.Version != Version {
		if c.Version == 0 {
			v.missing("version", "add \"version: 1\" as the first line of the file")
		} else {
			v.bad("version", c.Version, "is not a supported version; this build of sluice reads version 1")
		}
	}
	v.certificates()
	v.targetGroups()
	v.loadBalancers()
	return v.errs.err()
}

// validator collects the problems of one config.
type validator struct {
	c      *Config
	errs   ErrorList
	groups map[string]*TargetGroup // by name, first definition wins
	certs  map[string]bool
}

// add records a problem with field; msg is the whole explanation.
func (v *validator) add(field, value, msg string) {
	p := v.c.pos.lookup(field)
	v.errs = append(v.errs, &Error{File: v.c.path, Line: p.line, Col: p.col, Field: field, Value: value, Msg: msg})
}

// bad records a wrong value: the message is the value, quoted when it is a
// string, followed by format. Durations are shown in seconds, the unit of
// the ranges, and long strings are shortened.
func (v *validator) bad(field string, value any, format string, args ...any) {
	raw := fmt.Sprint(value)
	shown := raw
	switch x := value.(type) {
	case string:
		if r := []rune(x); len(r) > 40 {
			x = string(r[:37]) + "..."
		}
		shown = strconv.Quote(x)
	case Duration:
		raw = seconds(x)
		shown = raw
	}
	v.add(field, raw, shown+" "+fmt.Sprintf(format, args...))
}

// missing records a required field that is absent or empty.
func (v *validator) missing(field, hint string) {
	v.add(field, "", "missing; "+hint)
}

// intRange checks lo <= n <= hi; a zero n that was not written in the file
// is reported as missing.
func (v *validator) intRange(field string, n, lo, hi int) {
	switch {
	case n == 0 && lo > 0 && v.c.pos != nil && !v.c.pos.has(field):
		v.missing(field, fmt.Sprintf("set a value in %d–%d", lo, hi))
	case n < lo || n > hi:
		v.bad(field, n, "is out of range (%d–%d)", lo, hi)
	}
}

// durRange checks lo <= d <= hi.
func (v *validator) durRange(field string, d, lo, hi Duration) {
	if d < lo || d > hi {
		v.bad(field, d, "is out of range (%s–%s)", seconds(lo), seconds(hi))
	}
}

// seconds writes d as a number of seconds, the unit the AWS ranges use.
func seconds(d Duration) string {
	return strconv.FormatFloat(time.Duration(d).Seconds(), 'f', -1, 64) + "s"
}

// oneOf checks that s is one of allowed; an empty s is reported as missing.
func (v *validator) oneOf(field, s string, allowed ...string) bool {
	switch {
	case s == "":
		v.missing(field, "use one of "+strings.Join(allowed, ", "))
	case !slices.Contains(allowed, s):
		v.bad(field, s, "is not valid; use one of %s", strings.Join(allowed, ", "))
	default:
		return true
	}
	return false
}

// name checks a load balancer's or target group's name; seen holds the
// paths of the names already used by that kind.
func (v *validator) name(field, kind, s string, seen map[string]string) {
	switch {
	case s == "":
		v.missing(field, "give every "+kind+" a name")
		return
	case !validName(s):
		v.bad(field, s, "is not a valid name; use 1–32 letters, digits or '-', not starting or ending with '-'")
	}
	if prev, ok := seen[s]; ok {
		v.bad(field, s, "is already the name of %s; names must be unique", prev)
		return
	}
	seen[s] = parentPath(field)
}

func validName(s string) bool {
	if len(s) < 1 || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) && r != '-' {
			return false
		}
	}
	return true
}

func isAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

func (v *validator) loadBalancers() {
	names := map[string]string{}
	var bound []boundListener
	for i := range v.c.LoadBalancers {
		lb := &v.c.LoadBalancers[i]
		p := index("load_balancers", i)
		v.name(p+".name", "load balancer", lb.Name, names)
		v.durRange(p+".idle_timeout", lb.IdleTimeout, Duration(time.Second), Duration(4000*time.Second))
		v.durRange(p+".client_keep_alive", lb.ClientKeepAlive, Duration(60*time.Second), Duration(604800*time.Second))
		v.oneOf(p+".xff_header_processing", lb.XFFHeaderProcessing, "append", "preserve", "remove")
		v.oneOf(p+".desync_mitigation_mode", lb.DesyncMitigationMode, "monitor", "defensive", "strictest")
		if len(lb.Listeners) == 0 {
			v.missing(p+".listeners", "add at least one listener")
		}
		if al := lb.AccessLogs; al != nil {
			ap := p + ".access_logs"
			if al.Path == "" {
				v.missing(ap+".path", "give the log file's path, or \"-\" for standard output")
			}
			v.oneOf(ap+".format", al.Format, LogFormatALB, LogFormatJSON)
			if al.MaxSizeMB != 0 {
				v.intRange(ap+".max_size_mb", al.MaxSizeMB, 1, 100000)
			}
			v.intRange(ap+".max_backups", al.MaxBackups, 1, 1000)
		}
		for j := range lb.Listeners {
			lp := index(p+".listeners", j)
			if b, ok := v.listener(&lb.Listeners[j], lp); ok {
				v.conflicts(b, bound)
				bound = append(bound, b)
			}
		}
	}
}

// boundListener is where a listener listens; addr is invalid for every
// address.
type boundListener struct {
	path string
	addr netip.Addr
	port int
}

// conflicts reports b if a listener in bound already uses its port on an
// overlapping address.
func (v *validator) conflicts(b boundListener, bound []boundListener) {
	for _, o := range bound {
		if o.port != b.port || (o.addr.IsValid() && b.addr.IsValid() && o.addr != b.addr) {
			continue
		}
		where := "on all addresses"
		if o.addr.IsValid() {
			where = "on " + o.addr.String()
		}
		v.bad(b.path+".port", b.port, "is already used by %s %s; use another port or distinct addresses", o.path, where)
		return
	}
}

// listener checks l and returns where it listens, when that is valid.
func (v *validator) listener(l *Listener, p string) (boundListener, bool) {
	b := boundListener{path: p, port: l.Port}
	ok := v.oneOf(p+".protocol", l.Protocol, "HTTP", "HTTPS")
	before := len(v.errs)
	v.intRange(p+".port", l.Port, 1, 65535)
	ok = ok && len(v.errs) == before
	if l.Address != "" {
		a, err := netip.ParseAddr(l.Address)
		if err != nil {
			v.bad(p+".address", l.Address, "is not an IP address; leave it out to listen on every address")
			ok = false
		} else if !a.IsUnspecified() {
			b.addr = a.Unmap()
		}
	}
	switch l.Protocol {
	case "HTTPS":
		if len(l.Certificates) == 0 {
			v.missing(p+".certificates", "an HTTPS listener needs at least one certificate; name an entry of certificates")
		}
		for k, name := range l.Certificates {
			if !v.certs[name] {
				v.bad(index(p+".certificates", k), name, "names no certificate; define it under certificates or fix the name")
			}
		}
		v.mutualAuthentication(l.MutualAuthentication, p+".mutual_authentication")
		if _, known := certs.LookupPolicy(l.SSLPolicy); !known {
			v.bad(p+".ssl_policy", l.SSLPolicy, "is not a known security policy; use one of %s", strings.Join(certs.PolicyNames(), ", "))
		}
	case "HTTP":
		if len(l.Certificates) > 0 {
			v.add(p+".certificates", strings.Join(l.Certificates, ","), "an HTTP listener does not use certificates; remove them or make the listener HTTPS")
		}
		if l.SSLPolicy != "" {
			v.bad(p+".ssl_policy", l.SSLPolicy, "is only for HTTPS listeners; remove it or make the listener HTTPS")
		}
		if l.MutualAuthentication != nil {
			v.add(p+".mutual_authentication", "", "is only for HTTPS listeners; remove it or make the listener HTTPS")
		}
	}
	v.rules(l, p)
	if len(l.DefaultActions) == 0 {
		v.missing(p+".default_actions", "say what to do with requests no rule matches, e.g. a forward or fixed-response action")
	}
	v.actions(l.DefaultActions, p+".default_actions", l)
	return b, ok
}
