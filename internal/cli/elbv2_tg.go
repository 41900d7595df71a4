package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// healthCheckFlags are the health check settings create-target-group and
// modify-target-group take, with aws's names.
type healthCheckFlags struct {
	protocol, port, path, matcher, enabled *string
	interval, timeout, healthy, unhealthy  *int
	disabled                               *bool
}

func (h *healthCheckFlags) register(v *verbSet) {
	h.protocol = v.String("health check `PROTOCOL`, HTTP or HTTPS; default the group's", "health-check-protocol")
	h.port = v.String("health check `PORT`: traffic-port (default) or 1–65535", "health-check-port")
	h.path = v.String("health check `PATH`; default /", "health-check-path")
	h.interval = v.Int("`SECONDS` between checks, 5–300; default 30", "health-check-interval-seconds")
	h.timeout = v.Int("`SECONDS` to wait for an answer, 2–120; default 5", "health-check-timeout-seconds")
	h.healthy = v.Int("`N` checks in a row to become healthy, 2–10; default 5", "healthy-threshold-count")
	h.unhealthy = v.Int("`N` checks in a row to become unhealthy, 2–10; default 2", "unhealthy-threshold-count")
	h.matcher = v.String("good status `CODES`: 200, 200,404 or 200-299 (aws's HttpCode=200 and GrpcCode=12 too)", "matcher")
	h.enabled = v.String("`true|false`: whether to check at all", "health-check-enabled")
	h.disabled = v.Bool("no-health-check-enabled", "same as --health-check-enabled false")
}

// body returns the health_check keys given on the command line, or nil.
func (h *healthCheckFlags) body(v *verbSet) (map[string]any, error) {
	hc := map[string]any{}
	strs := []struct {
		flag, key string
		val       *string
	}{
		{"health-check-protocol", "protocol", h.protocol},
		{"health-check-port", "port", h.port},
		{"health-check-path", "path", h.path},
	}
	for _, s := range strs {
		if v.given(s.flag) {
			val := *s.val
			if s.key == "protocol" {
				val = strings.ToUpper(val)
			}
			hc[s.key] = val
		}
	}
	if v.given("health-check-interval-seconds") {
		hc["interval"] = strconv.Itoa(*h.interval) + "s"
	}
	if v.given("health-check-timeout-seconds") {
		hc["timeout"] = strconv.Itoa(*h.timeout) + "s"
	}
	if v.given("healthy-threshold-count") {
		hc["healthy_threshold"] = *h.healthy
	}
	if v.given("unhealthy-threshold-count") {
		hc["unhealthy_threshold"] = *h.unhealthy
	}
	if v.given("matcher") {
		m, err := parseMatcher(*h.matcher)
		if err != nil {
			return nil, v.usageErr("--matcher: %v", err)
		}
		hc["matcher"] = m
	}
	if v.given("health-check-enabled") {
		b, err := asBool("--health-check-enabled", *h.enabled)
		if err != nil {
			return nil, v.usageErr("%v", err)
		}
		hc["enabled"] = b
	}
	if *h.disabled {
		if v.given("health-check-enabled") {
			return nil, v.usageErr("give --health-check-enabled or --no-health-check-enabled, not both")
		}
		hc["enabled"] = false
	}
	if len(hc) == 0 {
		return nil, nil
	}
	return hc, nil
}

// parseMatcher accepts "200,404", aws's HttpCode=200,404 or GrpcCode=12,
// and JSON {"HttpCode":"200"}.
func parseMatcher(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		j, err := decodeJSON(s)
		if err != nil {
			return "", err
		}
		if m, ok := j.(map[string]any); ok {
			for k, v := range m {
				if c, ok := v.(string); ok && (normKey(k) == "httpcode" || normKey(k) == "grpccode") {
					return c, nil
				}
			}
		}
		return "", fmt.Errorf("expected {\"HttpCode\": \"200\"}")
	}
	if k, v, ok := strings.Cut(s, "="); ok {
		if normKey(k) != "httpcode" && normKey(k) != "grpccode" {
			return "", fmt.Errorf("%q: expected codes like 200,404 or HttpCode=200,404", s)
		}
		s = v
	}
	if s == "" {
		return "", fmt.Errorf("no status codes given")
	}
	return s, nil
}

func createTargetGroup(args []string, stdout, stderr io.Writer) error {
	v := newVerb("create-target-group", "--name NAME --protocol HTTP|HTTPS --port N [--protocol-version HTTP1|HTTP2|GRPC] [health check flags]",
		"Creates a target group without targets; add them with register-targets.", stderr)
	name := v.String("the group's `NAME` (required)", "name")
	protocol := v.String("`PROTOCOL` to the targets: HTTP or HTTPS", "protocol")
	port := v.Int("the targets' `PORT` unless a target gives its own, 1–65535", "port")
	version := v.String("`VERSION`: HTTP1 (default), HTTP2 or GRPC", "protocol-version")
	var hc healthCheckFlags
	hc.register(v)
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name"); err != nil {
		return err
	}
	body := map[string]any{"name": *name}
	if v.given("protocol") {
		body["protocol"] = strings.ToUpper(*protocol)
	}
	if v.given("port") {
		body["port"] = *port
	}
	if v.given("protocol-version") {
		body["protocol_version"] = strings.ToUpper(*version)
	}
	h, err := hc.body(v)
	if err != nil {
		return err
	}
	if h != nil {
		body["health_check"] = h
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/target_groups", body)
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(targetGroupColumns))
}

func describeTargetGroups(args []string, stdout, stderr io.Writer) error {
	v := newVerb("describe-target-groups", "[--names A,B]", "Lists the target groups, or those named.", stderr)
	ns := v.List("names of the groups to show (comma- or space-separated); default all", "names", "target-group-arns")
	if _, err := v.parse(args); err != nil {
		return err
	}
	return describeNamed(v, ns, "target_groups", targetGroupColumns, stdout, stderr)
}

func modifyTargetGroup(args []string, stdout, stderr io.Writer) error {
	v := newVerb("modify-target-group", "--name NAME [health check flags]",
		"Changes a target group's health check; settings not given keep their values.", stderr)
	name := v.String("the group's `NAME` (required)", "name", "target-group-arn")
	var hc healthCheckFlags
	hc.register(v)
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name"); err != nil {
		return err
	}
	h, err := hc.body(v)
	if err != nil {
		return err
	}
	if h == nil {
		return v.usageErr("nothing to change: give health check flags")
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("PATCH", "/api/v1/target_groups/"+pathEscape(*name), map[string]any{"health_check": h})
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(targetGroupColumns))
}

func deleteTargetGroup(args []string, stdout, stderr io.Writer) error {
	v := newVerb("delete-target-group", "--name NAME",
		"Deletes a target group; refused (exit 4) while a listener or rule forwards to it.", stderr)
	name := v.String("the group's `NAME` (required)", "name", "target-group-arn")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name"); err != nil {
		return err
	}
	return deleteResource(v, stdout, stderr, "/api/v1/target_groups/"+pathEscape(*name), "target group "+*name)
}

const tgAttributesHelp = "attributes, each Key=K,Value=V (several after one flag, or the flag repeated), or JSON\n" +
	"[{\"Key\":K,\"Value\":V}]; aws keys: deregistration_delay.timeout_seconds, slow_start.duration_seconds,\n" +
	"load_balancing.algorithm.type, stickiness.enabled, stickiness.type, stickiness.lb_cookie.duration_seconds,\n" +
	"stickiness.app_cookie.cookie_name, stickiness.app_cookie.duration_seconds,\n" +
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count and .percentage;\n" +
	"sluice's config keys (deregistration_delay=30s, ...) work too"

func describeTargetGroupAttributes(args []string, stdout, stderr io.Writer) error {
	v := newVerb("describe-target-group-attributes", "--target-group NAME",
		"Shows a target group's attributes, by their sluice config keys.", stderr)
	name := v.String("the group's `NAME` (required)", "target-group", "target-group-arn")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("target-group"); err != nil {
		return err
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("GET", "/api/v1/target_groups/"+pathEscape(*name)+"/attributes", nil)
	if err != nil {
		return err
	}
	return s.show(raw, keyValueTable())
}

func modifyTargetGroupAttributes(args []string, stdout, stderr io.Writer) error {
	v := newVerb("modify-target-group-attributes", "--target-group NAME --attributes Key=K,Value=V ...",
		"Changes a target group's attributes (a merge patch: attributes not named keep their values).", stderr)
	name := v.String("the group's `NAME` (required)", "target-group", "target-group-arn")
	attrs := v.List(tgAttributesHelp+" (required)", "attributes")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("target-group", "attributes"); err != nil {
		return err
	}
	body, err := mapAttributes(tgAttrKeys, attrs.words(false))
	if err != nil {
		return v.usageErr("--attributes: %v", err)
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("PATCH", "/api/v1/target_groups/"+pathEscape(*name)+"/attributes", body)
	if err != nil {
		return err
	}
	return s.show(raw, keyValueTable())
}
