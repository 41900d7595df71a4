package api

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelb/sluice/internal/config"
	cp "github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/target"
)

func (h *handler) tgRoutes() {
	m := h.mux
	m.HandleFunc("GET /api/v1/target_groups", h.listTGs)
	m.HandleFunc("POST /api/v1/target_groups", h.createTG)
	m.HandleFunc("GET /api/v1/target_groups/{name}", h.getTG)
	m.HandleFunc("PUT /api/v1/target_groups/{name}", h.putTG)
	m.HandleFunc("PATCH /api/v1/target_groups/{name}", h.putTG)
	m.HandleFunc("DELETE /api/v1/target_groups/{name}", h.deleteTG)
	m.HandleFunc("GET /api/v1/target_groups/{name}/attributes", h.getAttributes)
	m.HandleFunc("PATCH /api/v1/target_groups/{name}/attributes", h.patchAttributes)
	m.HandleFunc("POST /api/v1/target_groups/{name}/targets", h.registerTargets)
	m.HandleFunc("GET /api/v1/target_groups/{name}/targets", h.listTargets)
	m.HandleFunc("POST /api/v1/target_groups/{name}/targets/deregister", h.deregisterTargets)
	m.HandleFunc("GET /api/v1/target_groups/{name}/health", h.targetHealth)
}

// tgInput is a target group body; the keys only views have are accepted
// and ignored, so that a group read can be sent back.
type tgInput struct {
	ID                 string   `yaml:"id"`
	ManagedBy          string   `yaml:"managed_by"`
	RegisteredTargets  int      `yaml:"registered_targets"`
	LoadBalancers      []string `yaml:"load_balancers"`
	config.TargetGroup `yaml:",inline"`
}

func findTG(cur *config.Config, name string) *config.TargetGroup {
	for i := range cur.TargetGroups {
		if cur.TargetGroups[i].Name == name {
			return &cur.TargetGroups[i]
		}
	}
	return nil
}

func tgView(cur *config.Config, s *cp.State, tg *config.TargetGroup) map[string]any {
	c := *tg
	c.Targets = nil
	m := toMap(&c)
	m["id"] = tg.Name
	m["managed_by"] = managedBy(s.FileTG(tg.Name) != nil)
	m["registered_targets"] = len(tg.Targets)
	users := []string{}
	for _, lb := range cur.LoadBalancers {
		if usesGroup(&lb, tg.Name) {
			users = append(users, lb.Name)
		}
	}
	m["load_balancers"] = users
	return m
}

// usesGroup reports whether any action of lb forwards to group.
func usesGroup(lb *config.LoadBalancer, group string) bool {
	uses := func(actions []config.Action) bool {
		for _, a := range actions {
			if a.Forward == nil {
				continue
			}
			for _, w := range a.Forward.TargetGroups {
				if w.Name == group {
					return true
				}
			}
		}
		return false
	}
	for _, l := range lb.Listeners {
		if uses(l.DefaultActions) {
			return true
		}
		for _, r := range l.Rules {
			if uses(r.Actions) {
				return true
			}
		}
	}
	return false
}

func (h *handler) listTGs(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	out := []map[string]any{}
	for i := range cur.TargetGroups {
		out = append(out, tgView(cur, s, &cur.TargetGroups[i]))
	}
	writeJSON(w, 200, map[string]any{"target_groups": out})
}

func (h *handler) getTG(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	tg := findTG(cur, r.PathValue("name"))
	if tg == nil {
		writeError(w, cp.NotFound("target group", r.PathValue("name")))
		return
	}
	writeResource(w, 200, tgView(cur, s, tg))
}

func tgViewFn(name string) func(cur *config.Config, s *cp.State) map[string]any {
	return func(cur *config.Config, s *cp.State) map[string]any { return tgView(cur, s, findTG(cur, name)) }
}

func (h *handler) createTG(w http.ResponseWriter, r *http.Request) {
	var in tgInput
	if err := readBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	name := in.Name
	h.update(w, r, 201, cp.TGPath(name), func(s *cp.State, cur *config.Config) error {
		if s.FileTG(name) != nil || s.TargetGroups[name] != nil {
			return exists("target group", name)
		}
		var targets []config.Target // in.Targets, each once
		for _, t := range in.Targets {
			if !slices.ContainsFunc(targets, func(x config.Target) bool { return cp.SameTarget(x, t, in.Port) }) {
				targets = append(targets, t)
			}
		}
		s.Targets[name] = targets
		in.Targets = nil
		s.TargetGroups[name] = &in.TargetGroup
		return nil
	}, tgViewFn(name))
}

// apiTG returns the API-created group name, or the error for changing it.
func apiTG(s *cp.State, name string) (*config.TargetGroup, error) {
	if tg := s.TargetGroups[name]; tg != nil {
		return tg, nil
	}
	if s.FileTG(name) != nil {
		return nil, cp.FileManaged("target group", name, s.FileName())
	}
	return nil, cp.NotFound("target group", name)
}

// putTG replaces (PUT) or patches (PATCH) a target group's settings; its
// targets stay registered.
func (h *handler) putTG(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var in tgInput
	var patch map[string]any
	var err error
	if r.Method == http.MethodPatch {
		patch, err = readPatch(r)
	} else {
		err = readBody(r, &in)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	h.update(w, r, 200, cp.TGPath(name), func(s *cp.State, cur *config.Config) error {
		tg, err := apiTG(s, name)
		if err != nil {
			return err
		}
		if err := precondition(r, tgView(cur, s, findTG(cur, name))); err != nil {
			return err
		}
		if patch != nil {
			if err := patched(tg, patch, &in, "id", "managed_by", "registered_targets", "load_balancers"); err != nil {
				return err
			}
		}
		if in.Targets != nil {
			return cp.Invalid("targets", "", "targets are registered through /api/v1/target_groups/NAME/targets (register-targets)")
		}
		if in.Name == "" {
			in.Name = name
		}
		if in.Name != name {
			return cp.Invalid("name", in.Name, "a target group cannot be renamed; create a new one")
		}
		s.TargetGroups[name] = &in.TargetGroup
		return nil
	}, tgViewFn(name))
}

func (h *handler) deleteTG(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h.update(w, r, 204, nil, func(s *cp.State, cur *config.Config) error {
		if _, err := apiTG(s, name); err != nil {
			return err
		}
		if err := precondition(r, tgView(cur, s, findTG(cur, name))); err != nil {
			return err
		}
		for _, lb := range cur.LoadBalancers {
			if usesGroup(&lb, name) {
				return &cp.Error{Status: 409, Code: cp.CodeInUse, Message: fmt.Sprintf("target group %q is used by load balancer %s; remove the actions that forward to it first", name, lb.Name)}
			}
		}
		delete(s.TargetGroups, name)
		delete(s.Targets, name)
		return nil
	}, nil)
}

func (h *handler) getAttributes(w http.ResponseWriter, r *http.Request) {
	cur, _ := h.o.Plane.Current()
	tg := findTG(cur, r.PathValue("name"))
	if tg == nil {
		writeError(w, cp.NotFound("target group", r.PathValue("name")))
		return
	}
	writeResource(w, 200, toMap(&tg.Attributes))
}

// patchAttributes is modify-target-group-attributes: a merge patch of the
// group's attributes.
func (h *handler) patchAttributes(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	patch, err := readPatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	cfg, err := h.o.Plane.Update(r.Context(), func(c *config.Config) string { return cp.TGPath(name)(c) + ".attributes" },
		func(s *cp.State, cur *config.Config) error {
			tg, err := apiTG(s, name)
			if err != nil {
				return err
			}
			if err := precondition(r, toMap(&findTG(cur, name).Attributes)); err != nil {
				return err
			}
			var at config.TargetGroupAttributes
			if err := patched(&tg.Attributes, patch, &at); err != nil {
				return err
			}
			tg.Attributes = at
			return nil
		})
	if err != nil {
		writeError(w, err)
		return
	}
	writeResource(w, 200, toMap(&findTG(cfg, name).Attributes))
}

type targetsInput struct {
	Targets []config.Target `yaml:"targets"`
}

func (h *handler) readTargets(r *http.Request, group string) ([]config.Target, error) {
	var in targetsInput
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	if len(in.Targets) == 0 {
		return nil, cp.Invalid("targets", "", "missing; list targets as {\"id\": \"10.0.0.5\", \"port\": 8080}")
	}
	for i, t := range in.Targets {
		if t.ID == "" {
			return nil, cp.Invalid(fmt.Sprintf("targets[%d].id", i), "", "missing; give the target's IP address or host name")
		}
	}
	return in.Targets, nil
}

// groupOf returns the group name of the composed config cur, or a 404.
func groupOf(cur *config.Config, name string) (*config.TargetGroup, error) {
	if tg := findTG(cur, name); tg != nil {
		return tg, nil
	}
	return nil, cp.NotFound("target group", name)
}

func targetsView(tg *config.TargetGroup) map[string]any {
	out := []map[string]any{}
	for _, t := range tg.Targets {
		out = append(out, map[string]any{"id": t.ID, "port": portOf(t, tg)})
	}
	return map[string]any{"targets": out}
}

func portOf(t config.Target, tg *config.TargetGroup) int {
	if t.Port != 0 {
		return t.Port
	}
	return tg.Port
}

func (h *handler) listTargets(w http.ResponseWriter, r *http.Request) {
	cur, _ := h.o.Plane.Current()
	tg, err := groupOf(cur, r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, targetsView(tg))
}

// registerTargets is register-targets. Targets may be registered in any
// group, file-declared ones included; registering a registered target
// changes nothing, and registering a draining one takes it back.
func (h *handler) registerTargets(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	targets, err := h.readTargets(r, name)
	if err != nil {
		writeError(w, err)
		return
	}
	// The group's targets come first in the composed group, then the
	// request's new ones; validation errors name them by that index.
	var base int
	var added []int // the request index of each new target
	cfg, err := h.o.Plane.Update(r.Context(), cp.TGPath(name), func(s *cp.State, cur *config.Config) error {
		tg, err := groupOf(cur, name)
		if err != nil {
			return err
		}
		base, added = len(tg.Targets), nil
		for i, t := range targets {
			// Skip the group's targets and those already added from this
			// request: a target listed twice is registered once, and one
			// deregistration removes it.
			same := func(x config.Target) bool { return cp.SameTarget(x, t, tg.Port) }
			if slices.ContainsFunc(tg.Targets, same) || slices.ContainsFunc(s.Targets[name], same) {
				continue
			}
			s.Targets[name] = append(s.Targets[name], t)
			added = append(added, i)
		}
		return nil
	})
	if err != nil {
		writeError(w, requestIndexes(err, base, added))
		return
	}
	writeJSON(w, 200, targetsView(findTG(cfg, name)))
}

// requestIndexes rewrites the targets[N] fields of a validation error, N
// an index in the composed group whose first base targets were already
// registered, to the index in the request (added maps the others).
func requestIndexes(err error, base int, added []int) error {
	var e *cp.Error
	if !errors.As(err, &e) {
		return err
	}
	for i, f := range e.Fields {
		rest, ok := strings.CutPrefix(f.Field, "targets[")
		n, tail, _ := strings.Cut(rest, "]")
		j, aerr := strconv.Atoi(n)
		if !ok || aerr != nil || j < base || j-base >= len(added) {
			continue
		}
		e.Fields[i].Field = fmt.Sprintf("targets[%d]%s", added[j-base], tail)
		if i == 0 {
			if msg, ok := strings.CutPrefix(e.Message, f.Field); ok {
				e.Message = e.Fields[0].Field + msg
			}
		}
	}
	return e
}

// deregisterTargets is deregister-targets: the targets stop receiving new
// requests at once and drain for the group's deregistration delay.
func (h *handler) deregisterTargets(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	targets, err := h.readTargets(r, name)
	if err != nil {
		writeError(w, err)
		return
	}
	cfg, err := h.o.Plane.Update(r.Context(), cp.TGPath(name), func(s *cp.State, cur *config.Config) error {
		tg, err := groupOf(cur, name)
		if err != nil {
			return err
		}
		for i, t := range targets {
			addr := net.JoinHostPort(t.ID, strconv.Itoa(portOf(t, tg)))
			if s.FileTarget(name, t) {
				return cp.FileManaged("target", addr, s.FileName())
			}
			list := s.Targets[name]
			j := slices.IndexFunc(list, func(x config.Target) bool { return cp.SameTarget(x, t, tg.Port) })
			if j < 0 {
				return cp.Invalid(fmt.Sprintf("targets[%d]", i), addr, fmt.Sprintf("target %s is not registered in target group %s", addr, name))
			}
			s.Targets[name] = slices.Delete(list, j, j+1)
		}
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, 200, targetsView(findTG(cfg, name)))
}

// targetHealth is describe-target-health: every registered target and
// every target still draining, with state, reason and description.
func (h *handler) targetHealth(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	name := r.PathValue("name")
	tg, err := groupOf(cur, name)
	if err != nil {
		writeError(w, err)
		return
	}
	hcPort := func(t *target.Target) string {
		if hc := tg.HealthCheck; hc != nil && hc.Port != config.TrafficPort && hc.Port != "" {
			return hc.Port
		}
		return strconv.Itoa(t.Key.Port)
	}
	out := []map[string]any{}
	describe := func(t *target.Target, until time.Time) {
		hl := t.Health()
		d := map[string]any{
			"target":            map[string]any{"id": t.Key.ID, "port": t.Key.Port},
			"health_check_port": hcPort(t),
			"target_health":     map[string]any{"state": string(hl.State), "reason": string(hl.Reason), "description": hl.Description},
			"managed_by":        managedBy(s.FileTarget(name, config.Target{ID: t.Key.ID, Port: t.Key.Port})),
		}
		if !until.IsZero() {
			d["draining"] = map[string]any{
				"seconds_left":     int(math.Ceil(max(time.Until(until), 0).Seconds())),
				"open_connections": t.OpenConns(),
			}
		}
		out = append(out, d)
	}
	for _, t := range h.o.Runtime.Targets(name) {
		describe(t, time.Time{})
	}
	for _, d := range h.o.Runtime.Draining() {
		if d.Target.Key.Group == name {
			describe(d.Target, d.Until)
		}
	}
	writeJSON(w, 200, map[string]any{"target_health_descriptions": out})
}
