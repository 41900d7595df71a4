package config

import (
	"github.com/sluicelb/sluice/internal/router"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RuleName returns the name r is addressed by in the admin API: its Name,
// or priority-N for a rule without one.
func RuleName(r *Rule) string {
	if r.Name != "" {
		return r.Name
	}
	return "priority-" + strconv.Itoa(r.Priority)
}

// Limits on rule conditions. ALB limits a rule to 5 match evaluations in
// total; sluice enforces the simpler per-condition form: at most
// maxConditionValues values (or query-string pairs) in each condition.
const (
	maxConditionValues = 5
	maxValueLen        = 128
)

func (v *validator) rules(l *Listener, p string) {
	priorities := map[int]string{}
	names := map[string]string{}
	for i := range l.Rules {
		r := &l.Rules[i]
		rp := index(p+".rules", i)
		if r.Name != "" {
			v.name(rp+".name", "rule", r.Name, names)
			if strings.HasPrefix(r.Name, "priority-") {
				v.bad(rp+".name", r.Name, "is reserved: rules without a name are addressed as priority-N; choose another name")
			}
		}
		v.intRange(rp+".priority", r.Priority, 1, 50000)
		if prev, dup := priorities[r.Priority]; dup && r.Priority != 0 {
			v.bad(rp+".priority", r.Priority, "is already the priority of %s; priorities must be unique within a listener", prev)
		}
		priorities[r.Priority] = rp
		if len(r.Conditions) == 0 {
			v.missing(rp+".conditions", "a rule needs at least one condition; to match every request use the listener's default_actions")
		}
		for j := range r.Conditions {
			v.condition(&r.Conditions[j], index(rp+".conditions", j))
		}
		if len(r.Actions) == 0 {
			v.missing(rp+".actions", "say what to do with the requests the rule matches, e.g. a forward action")
		}
		v.actions(r.Actions, rp+".actions", l)
	}
}

func (v *validator) condition(c *Condition, p string) {
	if !v.oneOf(p+".field", c.Field, FieldHostHeader, FieldPathPattern, FieldHTTPHeader,
		FieldHTTPRequestMethod, FieldQueryString, FieldSourceIP) {
		return
	}
	if c.Field != FieldHTTPHeader && c.HTTPHeader != nil {
		v.add(p+".http_header", "", "only http-header conditions take http_header; remove it or set field: http-header")
	}
	if c.Field != FieldQueryString && c.QueryString != nil {
		v.add(p+".query_string", "", "only query-string conditions take query_string; remove it or set field: query-string")
	}
	before := len(v.errs)
	defer func() {
		if len(v.errs) == before {
			v.compiles(c, p)
		}
	}()
	switch c.Field {
	case FieldHTTPHeader:
		if c.Values != nil {
			v.add(p+".values", "", "an http-header condition takes its values under http_header.values; move them there")
		}
		v.httpHeader(c.HTTPHeader, p+".http_header")
	case FieldQueryString:
		if c.Values != nil {
			v.add(p+".values", "", "a query-string condition takes key/value pairs under query_string; move them there")
		}
		v.queryString(c.QueryString, p+".query_string")
	default:
		v.values(c.Field, c.Values, p+".values")
	}
}

// values checks the values of a condition of type field.
func (v *validator) values(field string, values []string, p string) {
	if !v.countValues(values, p) {
		return
	}
	for i, s := range values {
		vp := index(p, i)
		if !v.valueLen(s, vp) {
			continue
		}
		switch field {
		case FieldPathPattern:
			if s[0] != '/' && s[0] != '*' {
				v.bad(vp, s, "is not a path pattern; start it with '/' or '*'")
			}
		case FieldHTTPRequestMethod:
			if !validMethod(s) {
				v.bad(vp, s, "is not a method; use up to 40 of A–Z, '-' and '_', like GET or POST")
			}
		case FieldSourceIP:
			if _, err := netip.ParsePrefix(s); err != nil {
				if _, err := netip.ParseAddr(s); err != nil {
					v.bad(vp, s, "is not a CIDR block or IP address; write it like 10.0.0.0/8 or 2001:db8::/32")
				}
			}
		}
	}
}

// countValues checks that a condition has 1–maxConditionValues values.
func (v *validator) countValues(values []string, p string) bool {
	switch {
	case len(values) == 0:
		v.missing(p, "list at least one value to match")
		return false
	case len(values) > maxConditionValues:
		v.add(p, "", "has more than 5 values; ALB allows 5 per condition, split the rule")
		return false
	}
	return true
}

// valueLen checks one condition value is not empty or too long.
func (v *validator) valueLen(s, p string) bool {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		v.missing(p, "an empty value matches nothing; remove it or write a pattern")
	case n > maxValueLen:
		v.bad(p, s, "is longer than %d characters", maxValueLen)
	default:
		return true
	}
	return false
}

func (v *validator) httpHeader(h *HTTPHeaderCondition, p string) {
	if h == nil {
		v.missing(p, "an http-header condition needs http_header: {name: ..., values: [...]}")
		return
	}
	switch {
	case h.Name == "":
		v.missing(p+".name", "name the request header to match")
	case !isToken(h.Name):
		v.bad(p+".name", h.Name, "is not a valid header name")
	case strings.EqualFold(h.Name, "Host"):
		v.bad(p+".name", h.Name, "cannot be matched by http-header; use a host-header condition")
	}
	if v.countValues(h.Values, p+".values") {
		for i, s := range h.Values {
			v.valueLen(s, index(p+".values", i))
		}
	}
}

func (v *validator) queryString(kvs []KeyValue, p string) {
	switch {
	case len(kvs) == 0:
		v.missing(p, "list at least one {key, value} pair to match")
		return
	case len(kvs) > maxConditionValues:
		v.add(p, "", "has more than 5 pairs; ALB allows 5 per condition, split the rule")
		return
	}
	for i, kv := range kvs {
		kp := index(p, i)
		if kv.Key != "" && utf8.RuneCountInString(kv.Key) > maxValueLen {
			v.bad(kp+".key", kv.Key, "is longer than %d characters", maxValueLen)
		}
		if kv.Value == "" {
			v.missing(kp+".value", "write the value to match; use \"*\" to match any value")
		} else {
			v.valueLen(kv.Value, kp+".value")
		}
	}
}

func validMethod(s string) bool {
	if len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 token, the syntax of header
// names and cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isAlnum(r) && !strings.ContainsRune("!#$%&'*+-.^_`|~", r) {
			return false
		}
	}
	return true
}

// compiles runs each value of a condition that passed the checks above
// through the router's own compiler, so that whatever the data plane would
// refuse is reported here, at the value's position.
func (v *validator) compiles(c *Condition, p string) {
	one := func(vp, value string, err error) {
		if err != nil {
			v.add(vp, value, err.Error())
		}
	}
	switch c.Field {
	case FieldHTTPHeader:
		for i, s := range c.HTTPHeader.Values {
			_, err := router.HTTPHeader(c.HTTPHeader.Name, []string{s})
			one(index(p+".http_header.values", i), s, err)
		}
	case FieldQueryString:
		for i, kv := range c.QueryString {
			_, err := router.QueryString([]router.KeyValue{{Key: kv.Key, Value: kv.Value}})
			one(index(p+".query_string", i), kv.Key+"="+kv.Value, err)
		}
	default:
		compile := map[string]func([]string) (router.Condition, error){
			FieldHostHeader:        router.HostHeader,
			FieldPathPattern:       router.PathPattern,
			FieldHTTPRequestMethod: router.RequestMethod,
			FieldSourceIP:          router.SourceIP,
		}[c.Field]
		for i, s := range c.Values {
			_, err := compile([]string{s})
			one(index(p+".values", i), s, err)
		}
	}
}
