package config

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// actions checks an action list of listener l found at path p.
func (v *validator) actions(list []Action, p string, l *Listener) {
	withOrder := 0
	orders := map[int]string{}
	terminal := -1
	for i := range list {
		a := &list[i]
		ap := index(p, i)
		if a.Order != 0 {
			withOrder++
			v.intRange(ap+".order", a.Order, 1, 50000)
			if prev, dup := orders[a.Order]; dup {
				v.bad(ap+".order", a.Order, "is already the order of %s; orders must be unique within a list", prev)
			}
			orders[a.Order] = ap
		}
		if !v.action(a, ap, l) {
			continue
		}
		if terminal >= 0 {
			v.bad(ap+".type", a.Type, "follows the %s action at %s; a list ends in exactly one forward, redirect or fixed-response action, remove one", list[terminal].Type, index(p, terminal))
			continue
		}
		terminal = i
	}
	if withOrder > 0 && withOrder < len(list) {
		v.add(p, "", "some actions have an order and some do not; set order on every action of the list or on none")
	}
}

// action checks one action and reports whether its type is valid.
func (v *validator) action(a *Action, p string, l *Listener) bool {
	switch a.Type {
	case "":
		v.missing(p+".type", "set type to forward, redirect or fixed-response")
		return false
	case "authenticate-oidc", "authenticate-cognito":
		v.bad(p+".type", a.Type, "is not supported yet; use forward, redirect or fixed-response")
		return false
	case ActionForward, ActionRedirect, ActionFixedResponse:
	default:
		v.bad(p+".type", a.Type, "is not an action type; use forward, redirect or fixed-response")
		return false
	}
	if a.Type != ActionForward {
		if a.TargetGroup != "" {
			v.bad(p+".target_group", a.TargetGroup, "is only for forward actions; remove it or set type: forward")
		}
		if a.Forward != nil {
			v.add(p+".forward", "", "only forward actions take a forward block; remove it or set type: forward")
		}
	}
	if a.Type != ActionRedirect && a.Redirect != nil {
		v.add(p+".redirect", "", "only redirect actions take a redirect block; remove it or set type: redirect")
	}
	if a.Type != ActionFixedResponse && a.FixedResponse != nil {
		v.add(p+".fixed_response", "", "only fixed-response actions take a fixed_response block; remove it or set type: fixed-response")
	}
	switch a.Type {
	case ActionForward:
		v.forward(a, p)
	case ActionRedirect:
		v.redirect(a.Redirect, p+".redirect", l)
	case ActionFixedResponse:
		v.fixedResponse(a.FixedResponse, p+".fixed_response")
	}
	return true
}

func (v *validator) forward(a *Action, p string) {
	f := a.Forward
	if a.TargetGroup != "" {
		shorthand := f != nil && len(f.TargetGroups) == 1 && f.Stickiness == nil &&
			f.TargetGroups[0].Name == a.TargetGroup && (f.TargetGroups[0].Weight == nil || *f.TargetGroups[0].Weight == 1)
		switch {
		case f != nil && !shorthand:
			v.bad(p+".target_group", a.TargetGroup, "is set together with forward; use target_group for one group or forward.target_groups, not both")
		case v.groups[a.TargetGroup] == nil:
			v.bad(p+".target_group", a.TargetGroup, "names no target group; define it under target_groups or fix the name")
		}
		return
	}
	if f == nil {
		v.missing(p+".forward", "a forward action needs target_group: NAME or forward.target_groups")
		return
	}
	fp := p + ".forward.target_groups"
	switch {
	case len(f.TargetGroups) == 0:
		v.missing(fp, "list 1–5 target groups to forward to")
	case len(f.TargetGroups) > 5:
		v.add(fp, "", fmt.Sprintf("lists %d target groups; a forward allows at most 5", len(f.TargetGroups)))
	}
	seen := map[string]bool{}
	total := 0
	for i, w := range f.TargetGroups {
		wp := index(fp, i)
		switch {
		case w.Name == "":
			v.missing(wp+".name", "name the target group")
		case v.groups[w.Name] == nil:
			v.bad(wp+".name", w.Name, "names no target group; define it under target_groups or fix the name")
		case seen[w.Name]:
			v.bad(wp+".name", w.Name, "is listed twice; list each target group once")
		}
		seen[w.Name] = true
		weight := 1
		if w.Weight != nil {
			weight = *w.Weight
		}
		if weight < 0 || weight > 999 {
			v.bad(wp+".weight", weight, "is out of range (0–999)")
			total = -1 // Reported; do not also say that all weights are 0.
		} else if total >= 0 {
			total += weight
		}
	}
	if len(f.TargetGroups) > 0 && total == 0 {
		v.add(fp, "", "every weight is 0, so no request could be forwarded; give at least one group a weight above 0")
	}
	if st := f.Stickiness; st != nil {
		v.durRange(p+".forward.stickiness.duration", st.Duration, Duration(time.Second), Duration(7*24*time.Hour))
	}
}

func (v *validator) redirect(r *RedirectConfig, p string, l *Listener) {
	if r == nil {
		v.missing(p, "a redirect action needs redirect: {status_code: HTTP_301, ...} saying where to send the client")
		return
	}
	v.oneOf(p+".status_code", r.StatusCode, "HTTP_301", "HTTP_302")
	v.oneOf(p+".protocol", r.Protocol, "HTTP", "HTTPS", RedirectProtocol)
	if l.Protocol == "HTTPS" && r.Protocol == "HTTP" {
		v.bad(p+".protocol", r.Protocol, "would downgrade an HTTPS listener's requests; ALB refuses redirects from HTTPS to HTTP")
	}
	if r.Port != RedirectPort {
		if n, err := strconv.Atoi(r.Port); err != nil || n < 1 || n > 65535 {
			v.bad(p+".port", r.Port, "is not a port; use 1–65535 or #{port}")
		}
	}
	if r.Host == "" {
		v.missing(p+".host", "leave it out to keep #{host}")
	}
	if r.Path == "" || r.Path[0] != '/' {
		v.bad(p+".path", r.Path, "does not start with '/'; write it like /new/#{path}")
	}
	if r.Query != nil && len(*r.Query) > 0 && (*r.Query)[0] == '?' {
		v.bad(p+".query", *r.Query, "starts with '?'; leave the '?' out")
	}
	sameProto := r.Protocol == RedirectProtocol || r.Protocol == l.Protocol
	samePort := r.Port == RedirectPort || r.Port == strconv.Itoa(l.Port)
	if sameProto && samePort && r.Host == RedirectHost && r.Path == RedirectPath {
		v.add(p, "", "the redirect would loop: it sends clients back to this listener with the same host and path; change the protocol, host, port or path")
	}
}

// contentTypes are the content types a fixed response may declare.
var contentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

func (v *validator) fixedResponse(fr *FixedResponseConfig, p string) {
	if fr == nil {
		v.missing(p, "a fixed-response action needs fixed_response: {status_code: \"200\", ...}")
		return
	}
	switch s := fr.StatusCode; {
	case s == "":
		v.missing(p+".status_code", "set a 2XX, 4XX or 5XX status code, like \"503\"")
	case len(s) != 3 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || !isDigit(s[1]) || !isDigit(s[2]):
		v.bad(p+".status_code", s, "is not a 2XX, 4XX or 5XX status code")
	}
	v.oneOf(p+".content_type", fr.ContentType, contentTypes...)
	if n := utf8.RuneCountInString(fr.MessageBody); n > 1024 {
		v.add(p+".message_body", "", fmt.Sprintf("is %d characters long; a fixed response body is at most 1024", n))
	}
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }
