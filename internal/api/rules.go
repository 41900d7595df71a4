package api

import (
	"net/http"
	"slices"

	"github.com/sluicelb/sluice/internal/config"
	cp "github.com/sluicelb/sluice/internal/controlplane"
)

func (h *handler) ruleRoutes() {
	m := h.mux
	m.HandleFunc("GET /api/v1/rules", h.listRules)
	m.HandleFunc("POST /api/v1/rules", h.createRule)
	m.HandleFunc("POST /api/v1/rules/priorities", h.setPriorities)
	m.HandleFunc("GET /api/v1/rules/{id}", h.getRule)
	m.HandleFunc("PUT /api/v1/rules/{id}", h.putRule)
	m.HandleFunc("PATCH /api/v1/rules/{id}", h.putRule)
	m.HandleFunc("DELETE /api/v1/rules/{id}", h.deleteRule)
}

type ruleInput struct {
	ID          string `yaml:"id"`
	ManagedBy   string `yaml:"managed_by"`
	Listener    string `yaml:"listener"`
	config.Rule `yaml:",inline"`
}

func ruleView(s *cp.State, lb *config.LoadBalancer, l *config.Listener, r *config.Rule) map[string]any {
	m := toMap(r)
	compactActions(m, "actions")
	m["id"] = cp.RuleID(lb.Name, l.Port, r)
	m["name"] = config.RuleName(r)
	m["listener"] = cp.ListenerID(lb.Name, l.Port)
	m["managed_by"] = managedBy(s.FileLB(lb.Name) != nil)
	return m
}

func findRule(cur *config.Config, id string) (*config.LoadBalancer, *config.Listener, *config.Rule) {
	lid, name, ok := cp.ParseRuleID(id)
	if !ok {
		return nil, nil, nil
	}
	lb, l := findListener(cur, lid)
	if l == nil {
		return nil, nil, nil
	}
	for i := range l.Rules {
		if config.RuleName(&l.Rules[i]) == name {
			return lb, l, &l.Rules[i]
		}
	}
	return nil, nil, nil
}

func ruleNotFound(id string) error {
	if _, _, ok := cp.ParseRuleID(id); !ok {
		return cp.Invalid("id", id, "a rule ID is LOAD_BALANCER:PORT:NAME, like web:443:chat")
	}
	return cp.NotFound("rule", id)
}

func (h *handler) listRules(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	id := r.URL.Query().Get("listener")
	out := []map[string]any{}
	for i := range cur.LoadBalancers {
		lb := &cur.LoadBalancers[i]
		for j := range lb.Listeners {
			l := &lb.Listeners[j]
			if id != "" && cp.ListenerID(lb.Name, l.Port) != id {
				continue
			}
			rules := make([]*config.Rule, len(l.Rules))
			for k := range l.Rules {
				rules[k] = &l.Rules[k]
			}
			slices.SortFunc(rules, func(a, b *config.Rule) int { return a.Priority - b.Priority })
			for _, rule := range rules {
				out = append(out, ruleView(s, lb, l, rule))
			}
		}
	}
	if id != "" {
		if _, l := findListener(cur, id); l == nil {
			writeError(w, listenerNotFound(id))
			return
		}
	}
	writeJSON(w, 200, map[string]any{"rules": out})
}

func (h *handler) getRule(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	id := r.PathValue("id")
	lb, l, rule := findRule(cur, id)
	if rule == nil {
		writeError(w, ruleNotFound(id))
		return
	}
	writeResource(w, 200, ruleView(s, lb, l, rule))
}

func ruleViewFn(id *string) func(cur *config.Config, s *cp.State) map[string]any {
	return func(cur *config.Config, s *cp.State) map[string]any {
		lb, l, rule := findRule(cur, *id)
		return ruleView(s, lb, l, rule)
	}
}

func rulePath(id *string) func(*config.Config) string {
	return func(c *config.Config) string {
		lid, name, _ := cp.ParseRuleID(*id)
		lb, port, _ := cp.ParseListenerID(lid)
		return cp.RulePath(lb, port, name)(c)
	}
}

func (h *handler) createRule(w http.ResponseWriter, r *http.Request) {
	var in ruleInput
	if err := readBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	if in.Listener == "" {
		writeError(w, cp.Invalid("listener", "", "missing; name the listener the rule belongs to, like web:443"))
		return
	}
	if _, _, ok := cp.ParseListenerID(in.Listener); !ok {
		writeError(w, cp.Invalid("listener", in.Listener, "a listener ID is LOAD_BALANCER:PORT, like web:443"))
		return
	}
	if in.Name == "" {
		in.Name = randomName("rule-")
	}
	id := in.Listener + ":" + in.Name
	h.update(w, r, 201, rulePath(&id), func(s *cp.State, cur *config.Config) error {
		lb, i, err := apiListener(s, in.Listener)
		if err != nil {
			return err
		}
		l := &lb.Listeners[i]
		if slices.ContainsFunc(l.Rules, func(x config.Rule) bool { return config.RuleName(&x) == in.Name }) {
			return exists("rule", id)
		}
		l.Rules = append(l.Rules, in.Rule)
		return nil
	}, ruleViewFn(&id))
}

// apiRule returns the listener and index of rule id in the API state.
func apiRule(s *cp.State, id string) (*config.Listener, int, error) {
	lid, name, ok := cp.ParseRuleID(id)
	if !ok {
		return nil, 0, ruleNotFound(id)
	}
	lbName, port, _ := cp.ParseListenerID(lid)
	if lb := s.FileLB(lbName); lb != nil {
		for _, l := range lb.Listeners {
			if l.Port != port {
				continue
			}
			for k := range l.Rules {
				if config.RuleName(&l.Rules[k]) == name {
					return nil, 0, cp.FileManaged("rule", id, s.FileName())
				}
			}
		}
		return nil, 0, cp.NotFound("rule", id)
	}
	lb, i, err := apiListener(s, lid)
	if err != nil {
		return nil, 0, err
	}
	l := &lb.Listeners[i]
	for k := range l.Rules {
		if config.RuleName(&l.Rules[k]) == name {
			return l, k, nil
		}
	}
	return nil, 0, cp.NotFound("rule", id)
}

// putRule replaces (PUT) or patches (PATCH) a rule; modify-rule.
func (h *handler) putRule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var in ruleInput
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
	h.update(w, r, 200, rulePath(&id), func(s *cp.State, cur *config.Config) error {
		l, k, err := apiRule(s, id)
		if err != nil {
			return err
		}
		clb, cl, cr := findRule(cur, id)
		if err := precondition(r, ruleView(s, clb, cl, cr)); err != nil {
			return err
		}
		old := l.Rules[k]
		if patch != nil {
			if err := patched(&old, patch, &in, "id", "managed_by", "listener"); err != nil {
				return err
			}
		}
		lid, _, _ := cp.ParseRuleID(id)
		if in.Listener != "" && in.Listener != lid {
			return cp.Invalid("listener", in.Listener, "a rule cannot move to another listener; create it there and delete this one")
		}
		if in.Name == "" {
			in.Name = old.Name
		}
		if in.Name != old.Name {
			return cp.Invalid("name", in.Name, "a rule cannot be renamed; create a new one")
		}
		if in.Priority == 0 {
			in.Priority = old.Priority
		}
		l.Rules[k] = in.Rule
		return nil
	}, ruleViewFn(&id))
}

func (h *handler) deleteRule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h.update(w, r, 204, nil, func(s *cp.State, cur *config.Config) error {
		l, k, err := apiRule(s, id)
		if err != nil {
			return err
		}
		clb, cl, cr := findRule(cur, id)
		if err := precondition(r, ruleView(s, clb, cl, cr)); err != nil {
			return err
		}
		l.Rules = slices.Delete(l.Rules, k, k+1)
		return nil
	}, nil)
}

type priorityInput struct {
	RulePriorities []struct {
		Rule     string `yaml:"rule"`
		Priority int    `yaml:"priority"`
	} `yaml:"rule_priorities"`
}

// setPriorities changes several rules' priorities in one change, so that
// two rules can swap priorities.
func (h *handler) setPriorities(w http.ResponseWriter, r *http.Request) {
	var in priorityInput
	if err := readBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	if len(in.RulePriorities) == 0 {
		writeError(w, cp.Invalid("rule_priorities", "", "missing; list {\"rule\": ID, \"priority\": N} pairs"))
		return
	}
	var focus func(*config.Config) string
	if len(in.RulePriorities) > 0 {
		focus = rulePath(&in.RulePriorities[0].Rule)
	}
	cfg, err := h.o.Plane.Update(r.Context(), focus, func(s *cp.State, cur *config.Config) error {
		for _, rp := range in.RulePriorities {
			l, k, err := apiRule(s, rp.Rule)
			if err != nil {
				return err
			}
			if l.Rules[k].Name == "" {
				return cp.Invalid("rule_priorities", rp.Rule, "rules without a name are addressed by priority and cannot change it")
			}
			l.Rules[k].Priority = rp.Priority
		}
		return nil
	})
	if err != nil {
		writeError(w, err)
		return
	}
	_, s := h.o.Plane.Current()
	out := []map[string]any{}
	for _, rp := range in.RulePriorities {
		lb, l, rule := findRule(cfg, rp.Rule)
		if rule != nil {
			out = append(out, ruleView(s, lb, l, rule))
		}
	}
	writeJSON(w, 200, map[string]any{"rules": out})
}
