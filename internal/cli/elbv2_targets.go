package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

const targetsHelp = "targets: Id=ADDR,Port=N (Port optional: the group's port), ADDR:PORT or ADDR; several after\n" +
	"one flag (aws style), space-separated in one value, or the flag repeated; or JSON [{\"id\":ADDR,\"port\":N}]"

func registerTargets(args []string, stdout, stderr io.Writer) error {
	v := newVerb("register-targets", "--target-group NAME --targets Id=ADDR,Port=N ...",
		"Adds targets to a target group; adding a registered target again changes nothing.", stderr)
	name := v.String("the group's `NAME` (required)", "target-group", "target-group-arn")
	ts := v.List(targetsHelp+" (required)", "targets")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("target-group", "targets"); err != nil {
		return err
	}
	targets, err := parseTargets(ts)
	if err != nil {
		return v.usageErr("--targets: %v", err)
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/target_groups/"+pathEscape(*name)+"/targets", map[string]any{"targets": targets})
	if err != nil {
		return err
	}
	return s.show(raw, listTable(targetColumns, "targets"))
}

func deregisterTargets(args []string, stdout, stderr io.Writer) error {
	v := newVerb("deregister-targets", "--target-group NAME --targets Id=ADDR,Port=N ... [--wait]",
		"Removes targets from a target group. They get no new requests; requests in flight may finish\n"+
			"until the group's deregistration delay ends. --wait returns once they have drained.", stderr)
	name := v.String("the group's `NAME` (required)", "target-group", "target-group-arn")
	ts := v.List(targetsHelp+" (required)", "targets")
	wait := v.Bool("wait", "wait until the targets have drained, printing progress to stderr")
	poll := v.fs.Duration("poll-interval", time.Second, "wait this `DURATION` between asks with --wait")
	timeout := v.fs.Duration("wait-timeout", 15*time.Minute, "give up --wait after this `DURATION` (exit 1)")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("target-group", "targets"); err != nil {
		return err
	}
	if *poll <= 0 || *timeout <= 0 {
		return v.usageErr("--poll-interval and --wait-timeout must be positive")
	}
	targets, err := parseTargets(ts)
	if err != nil {
		return v.usageErr("--targets: %v", err)
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	base := "/api/v1/target_groups/" + pathEscape(*name)
	raw, err := s.call("POST", base+"/targets/deregister", map[string]any{"targets": targets})
	if err != nil {
		return err
	}
	if err := s.show(raw, listTable(targetColumns, "targets")); err != nil {
		return err
	}
	if !*wait {
		return nil
	}
	return s.waitDrained(base+"/health", targets, *poll, *timeout)
}

// waitDrained polls the group's health until none of targets is listed,
// printing a line to stderr per still-listed target each time.
func (s *session) waitDrained(path string, targets []any, poll, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	start := time.Now()
	for {
		raw, err := s.call("GET", path, nil)
		if err != nil {
			return err
		}
		obj, err := decodeObject(raw)
		if err != nil {
			return err
		}
		var left []string
		for _, d := range objects(obj["target_health_descriptions"]) {
			t, _ := d["target"].(map[string]any)
			if !matchesAny(t, targets) {
				continue
			}
			addr := targetText(t)
			left = append(left, addr)
			if dr, ok := d["draining"].(map[string]any); ok {
				fmt.Fprintf(s.stderr, "draining %s: %s\n", addr, drainingText(dr))
			} else {
				fmt.Fprintf(s.stderr, "waiting for %s: %s\n", addr, text(lookup(d, "target_health.state")))
			}
		}
		if len(left) == 0 {
			fmt.Fprintf(s.stderr, "drained after %s\n", time.Since(start).Round(time.Second))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deregister-targets: gave up waiting after %s; still draining: %s",
				timeout, strings.Join(left, ", "))
		case <-time.After(poll):
		}
	}
}

// targetText is "127.0.0.1:8081".
func targetText(t map[string]any) string {
	id := str(t, "id")
	if strings.Contains(id, ":") {
		id = "[" + id + "]"
	}
	if p := lookup(t, "port"); p != nil {
		return id + ":" + text(p)
	}
	return id
}

// matchesAny tells whether the API's target t is one of targets; a target
// given without a port matches any port.
func matchesAny(t map[string]any, targets []any) bool {
	for _, e := range targets {
		want, _ := e.(map[string]any)
		if want == nil || fmt.Sprint(want["id"]) != str(t, "id") {
			continue
		}
		if p, ok := want["port"]; !ok || fmt.Sprint(p) == text(lookup(t, "port")) {
			return true
		}
	}
	return false
}

func describeTargetHealth(args []string, stdout, stderr io.Writer) error {
	v := newVerb("describe-target-health", "--target-group NAME [--targets Id=ADDR,Port=N ...]",
		"Shows the health of a group's targets, or of those given (a target not registered shows as unused).", stderr)
	name := v.String("the group's `NAME` (required)", "target-group", "target-group-arn")
	ts := v.List("show only these "+targetsHelp, "targets")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("target-group"); err != nil {
		return err
	}
	var filter []any
	if v.given("targets") {
		var err error
		if filter, err = parseTargets(ts); err != nil {
			return v.usageErr("--targets: %v", err)
		}
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("GET", "/api/v1/target_groups/"+pathEscape(*name)+"/health", nil)
	if err != nil {
		return err
	}
	if filter != nil {
		if raw, err = filterHealth(raw, filter); err != nil {
			return err
		}
	}
	return s.show(raw, listTable(targetHealthColumns, "target_health_descriptions"))
}

// filterHealth keeps the descriptions of the targets in filter and adds, as
// aws does, an unused one for each of them that is not registered.
func filterHealth(raw json.RawMessage, filter []any) (json.RawMessage, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	all := objects(obj["target_health_descriptions"])
	kept := []any{}
	for _, d := range all {
		t, _ := d["target"].(map[string]any)
		if matchesAny(t, filter) {
			kept = append(kept, d)
		}
	}
	for _, e := range filter {
		want := e.(map[string]any)
		found := false
		for _, d := range all {
			t, _ := d["target"].(map[string]any)
			if matchesAny(t, []any{want}) {
				found = true
			}
		}
		if !found {
			kept = append(kept, map[string]any{
				"target": want,
				"target_health": map[string]any{
					"state":       "unused",
					"reason":      "Target.NotRegistered",
					"description": "Target is not registered to the target group",
				},
			})
		}
	}
	obj["target_health_descriptions"] = kept
	return json.Marshal(obj)
}
