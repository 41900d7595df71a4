package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// attrKind says how an attribute's value is converted for the API.
type attrKind int

const (
	attrString   attrKind = iota
	attrBool              // true or false
	attrInt               // a whole number
	attrSeconds           // whole seconds, sent as "30s"
	attrDuration          // "30s", "5m" or seconds, sent as a duration
	attrPercent           // 0–100, or "off" (0), as aws writes it
)

// attrKey maps one aws attribute key to the config key it sets.
type attrKey struct {
	// aws is the aws elbv2 attribute key.
	aws string
	// path is the config key, dotted for nested objects.
	path string
	kind attrKind
	// stickiness is set on keys that share path with another key and apply
	// to one stickiness type only (the lb_cookie and app_cookie durations).
	stickiness string
}

// lbAttrKeys are the load balancer attributes; their config keys sit at the
// top of the load balancer's object.
var lbAttrKeys = []attrKey{
	{aws: "idle_timeout.timeout_seconds", path: "idle_timeout", kind: attrSeconds},
	{aws: "client_keep_alive.seconds", path: "client_keep_alive", kind: attrSeconds},
	{aws: "routing.http.xff_header_processing.mode", path: "xff_header_processing"},
	{aws: "routing.http.desync_mitigation_mode", path: "desync_mitigation_mode"},
	{aws: "routing.http2.enabled", path: "http2_enabled", kind: attrBool},
	{aws: "routing.http.drop_invalid_header_fields.enabled", path: "drop_invalid_header_fields", kind: attrBool},
	{aws: "routing.http.preserve_host_header.enabled", path: "preserve_host_header", kind: attrBool},
	{aws: "routing.http.xff_client_port.enabled", path: "xff_client_port", kind: attrBool},
	{aws: "routing.http.x_amzn_tls_version_and_cipher_suite.enabled", path: "x_amzn_tls_version_and_cipher_suite", kind: attrBool},
}

// tgAttrKeys are the target group attributes; their config keys sit under
// the group's attributes object.
var tgAttrKeys = []attrKey{
	{aws: "deregistration_delay.timeout_seconds", path: "deregistration_delay", kind: attrSeconds},
	{aws: "slow_start.duration_seconds", path: "slow_start", kind: attrSeconds},
	{aws: "load_balancing.algorithm.type", path: "load_balancing_algorithm"},
	{aws: "stickiness.enabled", path: "stickiness.enabled", kind: attrBool},
	{aws: "stickiness.type", path: "stickiness.type"},
	{aws: "stickiness.lb_cookie.duration_seconds", path: "stickiness.duration", kind: attrSeconds, stickiness: "lb_cookie"},
	{aws: "stickiness.app_cookie.cookie_name", path: "stickiness.cookie_name"},
	{aws: "stickiness.app_cookie.duration_seconds", path: "stickiness.duration", kind: attrSeconds, stickiness: "app_cookie"},
	{aws: "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
		path: "target_group_health.unhealthy_state_routing.minimum_healthy_targets_count", kind: attrInt},
	{aws: "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
		path: "target_group_health.unhealthy_state_routing.minimum_healthy_targets_percentage", kind: attrPercent},
}

// lookupAttr finds key among keys, by its aws name or its config name (a
// config name's seconds take durations too).
func lookupAttr(keys []attrKey, key string) (attrKey, bool) {
	for _, k := range keys {
		if k.aws == key {
			return k, true
		}
	}
	for _, k := range keys {
		if k.path == key && k.stickiness == "" {
			if k.kind == attrSeconds {
				k.kind = attrDuration
			}
			return k, true
		}
	}
	if key == "stickiness.duration" {
		return attrKey{aws: key, path: key, kind: attrDuration}, true
	}
	return attrKey{}, false
}

// knownAttrs lists keys' aws names for an error message.
func knownAttrs(keys []attrKey) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.aws
	}
	return strings.Join(names, ", ")
}

// attrValue converts an attribute's value for the API.
func attrValue(k attrKey, key, s string) (any, error) {
	s = strings.TrimSpace(s)
	switch k.kind {
	case attrBool:
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return nil, fmt.Errorf("%s=%s: expected true or false", key, s)
		}
		return b, nil
	case attrInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: expected a whole number", key, s)
		}
		return n, nil
	case attrPercent:
		if strings.EqualFold(s, "off") {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: expected a percentage 0–100 or off", key, s)
		}
		return n, nil
	case attrSeconds:
		return secondsValue(key, s)
	case attrDuration:
		return durationValue(key, s)
	}
	return s, nil
}

// mapAttributes turns aws attributes — "Key=K,Value=V" items, JSON
// [{"Key":..,"Value":..}], or "K=V" — into the config object they set.
func mapAttributes(keys []attrKey, words []string) (map[string]any, error) {
	sts, err := structs(words)
	if err != nil {
		return nil, err
	}
	type setting struct {
		k   attrKey
		key string
		val any
	}
	var settings []setting
	add := func(key string, v any) error {
		s, err := asString(key, v)
		if err != nil {
			return err
		}
		k, ok := lookupAttr(keys, key)
		if !ok {
			return fmt.Errorf("unknown attribute key %q; known keys: %s", key, knownAttrs(keys))
		}
		val, err := attrValue(k, key, s)
		if err != nil {
			return err
		}
		settings = append(settings, setting{k, key, val})
		return nil
	}
	for _, st := range sts {
		if kv, ok := st.take("Key"); ok {
			key, err := asString("Key", kv)
			if err != nil {
				return nil, err
			}
			v, ok := st.take("Value")
			if !ok {
				return nil, fmt.Errorf("Key=%s has no Value=", key)
			}
			if err := st.rest("Key", "Value"); err != nil {
				return nil, err
			}
			if err := add(key, v); err != nil {
				return nil, err
			}
			continue
		}
		for _, p := range st {
			if err := add(p.key, p.val); err != nil {
				return nil, err
			}
		}
	}
	if len(settings) == 0 {
		return nil, fmt.Errorf("no attributes given; known keys: %s", knownAttrs(keys))
	}
	// Two aws keys set stickiness.duration; the one of the stickiness type
	// asked for wins.
	stickyType := ""
	for _, s := range settings {
		if s.k.path == "stickiness.type" {
			stickyType, _ = s.val.(string)
		}
	}
	out := map[string]any{}
	chosen := map[string]string{}
	for _, s := range settings {
		if prev, ok := chosen[s.k.path]; ok && s.k.stickiness != "" && prev == stickyType && s.k.stickiness != stickyType {
			continue
		}
		chosen[s.k.path] = s.k.stickiness
		setPath(out, s.k.path, s.val)
	}
	return out, nil
}
