package api

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"

	"github.com/sluicelb/sluice/internal/config"
	cp "github.com/sluicelb/sluice/internal/controlplane"
)

// Load balancers, listeners and rules: the API state keeps each load
// balancer created through the API as one document with its listeners and
// rules inside.

func (h *handler) lbRoutes() {
	m := h.mux
	m.HandleFunc("GET /api/v1/load_balancers", h.listLBs)
	m.HandleFunc("POST /api/v1/load_balancers", h.createLB)
	m.HandleFunc("GET /api/v1/load_balancers/{name}", h.getLB)
	m.HandleFunc("PATCH /api/v1/load_balancers/{name}", h.patchLB)
	m.HandleFunc("DELETE /api/v1/load_balancers/{name}", h.deleteLB)
}

// readOnly are the keys views add; they are ignored in request bodies so
// that a resource read can be sent back.
var readOnly = []string{"id", "managed_by", "listeners"}

type lbInput struct {
	ID                  string `yaml:"id"`
	ManagedBy           string `yaml:"managed_by"`
	config.LoadBalancer `yaml:",inline"`
}

func lbView(cur *config.Config, s *cp.State, lb *config.LoadBalancer) map[string]any {
	c := *lb
	ids := []string{}
	for _, l := range lb.Listeners {
		ids = append(ids, cp.ListenerID(lb.Name, l.Port))
	}
	c.Listeners = nil
	m := toMap(&c)
	m["id"] = lb.Name
	m["listeners"] = ids
	m["managed_by"] = managedBy(s.FileLB(lb.Name) != nil)
	return m
}

func findLB(cur *config.Config, name string) *config.LoadBalancer {
	for i := range cur.LoadBalancers {
		if cur.LoadBalancers[i].Name == name {
			return &cur.LoadBalancers[i]
		}
	}
	return nil
}

func (h *handler) listLBs(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	out := []map[string]any{}
	for i := range cur.LoadBalancers {
		out = append(out, lbView(cur, s, &cur.LoadBalancers[i]))
	}
	writeJSON(w, 200, map[string]any{"load_balancers": out})
}

func (h *handler) getLB(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	lb := findLB(cur, r.PathValue("name"))
	if lb == nil {
		writeError(w, cp.NotFound("load balancer", r.PathValue("name")))
		return
	}
	writeResource(w, 200, lbView(cur, s, lb))
}

func (h *handler) createLB(w http.ResponseWriter, r *http.Request) {
	var in lbInput
	if err := readBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	name := in.Name
	h.update(w, r, 201, cp.LBPath(name), func(s *cp.State, cur *config.Config) error {
		if s.FileLB(name) != nil || s.LoadBalancers[name] != nil {
			return exists("load balancer", name)
		}
		s.LoadBalancers[name] = &in.LoadBalancer
		return nil
	}, func(cur *config.Config, s *cp.State) map[string]any {
		return lbView(cur, s, findLB(cur, name))
	})
}

// apiLB returns the API-created load balancer name from s, or the error
// for a change to it: 409 when the file declares it, 404 when nobody does.
func apiLB(s *cp.State, name, kind, id string) (*config.LoadBalancer, error) {
	if lb := s.LoadBalancers[name]; lb != nil {
		return lb, nil
	}
	if s.FileLB(name) != nil {
		return nil, cp.FileManaged(kind, id, s.FileName())
	}
	if kind == "load balancer" {
		return nil, cp.NotFound(kind, id)
	}
	return nil, cp.NotFound("load balancer", name)
}

func (h *handler) patchLB(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	patch, err := readPatch(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if v, ok := patch["name"]; ok && v != name {
		writeError(w, cp.Invalid("name", "", "a load balancer cannot be renamed; create a new one"))
		return
	}
	h.update(w, r, 200, cp.LBPath(name), func(s *cp.State, cur *config.Config) error {
		lb, err := apiLB(s, name, "load balancer", name)
		if err != nil {
			return err
		}
		if err := precondition(r, lbView(cur, s, findLB(cur, name))); err != nil {
			return err
		}
		raw := *lb
		raw.Listeners = nil
		var in lbInput
		if err := patched(&raw, patch, &in, readOnly...); err != nil {
			return err
		}
		in.Listeners = lb.Listeners
		s.LoadBalancers[name] = &in.LoadBalancer
		return nil
	}, func(cur *config.Config, s *cp.State) map[string]any {
		return lbView(cur, s, findLB(cur, name))
	})
}

func (h *handler) deleteLB(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h.update(w, r, 204, nil, func(s *cp.State, cur *config.Config) error {
		if _, err := apiLB(s, name, "load balancer", name); err != nil {
			return err
		}
		if err := precondition(r, lbView(cur, s, findLB(cur, name))); err != nil {
			return err
		}
		delete(s.LoadBalancers, name)
		return nil
	}, nil)
}

// update runs a change through the control plane and answers with status
// and the view of the result (no body when view is nil).
func (h *handler) update(w http.ResponseWriter, r *http.Request, status int, focus func(*config.Config) string,
	fn func(s *cp.State, cur *config.Config) error, view func(cur *config.Config, s *cp.State) map[string]any) {
	cfg, err := h.o.Plane.Update(r.Context(), focus, fn)
	if err != nil {
		writeError(w, err)
		return
	}
	if view == nil {
		w.WriteHeader(status)
		return
	}
	_, s := h.o.Plane.Current()
	writeResource(w, status, view(cfg, s))
}

func exists(kind, id string) error {
	return &cp.Error{Status: 409, Code: cp.CodeExists, Message: kind + " " + strconv.Quote(id) + " already exists; pick another name or change the existing one"}
}

// Listeners.

func (h *handler) listenerRoutes() {
	m := h.mux
	m.HandleFunc("GET /api/v1/listeners", h.listListeners)
	m.HandleFunc("POST /api/v1/listeners", h.createListener)
	m.HandleFunc("GET /api/v1/listeners/{id}", h.getListener)
	m.HandleFunc("PUT /api/v1/listeners/{id}", h.putListener)
	m.HandleFunc("PATCH /api/v1/listeners/{id}", h.putListener)
	m.HandleFunc("DELETE /api/v1/listeners/{id}", h.deleteListener)
}

type listenerInput struct {
	ID              string   `yaml:"id"`
	ManagedBy       string   `yaml:"managed_by"`
	LoadBalancer    string   `yaml:"load_balancer"`
	RuleIDs         []string `yaml:"rule_ids"`
	config.Listener `yaml:",inline"`
}

func listenerView(s *cp.State, lb *config.LoadBalancer, l *config.Listener) map[string]any {
	c := *l
	c.Rules = nil
	m := toMap(&c)
	compactActions(m, "default_actions")
	ids := []string{}
	for i := range l.Rules {
		ids = append(ids, cp.RuleID(lb.Name, l.Port, &l.Rules[i]))
	}
	m["id"] = cp.ListenerID(lb.Name, l.Port)
	m["load_balancer"] = lb.Name
	m["rule_ids"] = ids
	m["managed_by"] = managedBy(s.FileLB(lb.Name) != nil)
	return m
}

func findListener(cur *config.Config, id string) (*config.LoadBalancer, *config.Listener) {
	name, port, ok := cp.ParseListenerID(id)
	if !ok {
		return nil, nil
	}
	lb := findLB(cur, name)
	if lb == nil {
		return nil, nil
	}
	for i := range lb.Listeners {
		if lb.Listeners[i].Port == port {
			return lb, &lb.Listeners[i]
		}
	}
	return lb, nil
}

func (h *handler) listListeners(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	want := r.URL.Query().Get("load_balancer")
	out := []map[string]any{}
	for i := range cur.LoadBalancers {
		lb := &cur.LoadBalancers[i]
		if want != "" && lb.Name != want {
			continue
		}
		for j := range lb.Listeners {
			out = append(out, listenerView(s, lb, &lb.Listeners[j]))
		}
	}
	if want != "" && findLB(cur, want) == nil {
		writeError(w, cp.NotFound("load balancer", want))
		return
	}
	writeJSON(w, 200, map[string]any{"listeners": out})
}

func (h *handler) getListener(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	id := r.PathValue("id")
	lb, l := findListener(cur, id)
	if l == nil {
		writeError(w, listenerNotFound(id))
		return
	}
	writeResource(w, 200, listenerView(s, lb, l))
}

func listenerNotFound(id string) error {
	if _, _, ok := cp.ParseListenerID(id); !ok {
		return cp.Invalid("id", id, "a listener ID is LOAD_BALANCER:PORT, like web:443")
	}
	return cp.NotFound("listener", id)
}

func listenerViewFn(lbName string, port *int) func(cur *config.Config, s *cp.State) map[string]any {
	return func(cur *config.Config, s *cp.State) map[string]any {
		lb, l := findListener(cur, cp.ListenerID(lbName, *port))
		return listenerView(s, lb, l)
	}
}

func (h *handler) createListener(w http.ResponseWriter, r *http.Request) {
	var in listenerInput
	if err := readBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	if in.LoadBalancer == "" {
		writeError(w, cp.Invalid("load_balancer", "", "missing; name the load balancer the listener belongs to"))
		return
	}
	port := in.Port
	h.update(w, r, 201, cp.ListenerPath(in.LoadBalancer, port), func(s *cp.State, cur *config.Config) error {
		lb, err := apiLB(s, in.LoadBalancer, "load balancer", in.LoadBalancer)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(lb.Listeners, func(l config.Listener) bool { return l.Port == port }) {
			return exists("listener", cp.ListenerID(in.LoadBalancer, port))
		}
		lb.Listeners = append(lb.Listeners, in.Listener)
		return nil
	}, listenerViewFn(in.LoadBalancer, &port))
}

// apiListener returns the raw listener id of the API state.
func apiListener(s *cp.State, id string) (*config.LoadBalancer, int, error) {
	name, port, ok := cp.ParseListenerID(id)
	if !ok {
		return nil, 0, listenerNotFound(id)
	}
	if lb := s.FileLB(name); lb != nil && !slices.ContainsFunc(lb.Listeners, func(l config.Listener) bool { return l.Port == port }) {
		return nil, 0, cp.NotFound("listener", id)
	}
	lb, err := apiLB(s, name, "listener", id)
	if err != nil {
		return nil, 0, err
	}
	for i := range lb.Listeners {
		if lb.Listeners[i].Port == port {
			return lb, i, nil
		}
	}
	return nil, 0, cp.NotFound("listener", id)
}

// putListener replaces (PUT) or patches (PATCH) a listener; its rules stay.
// A new port moves the listener: the new socket opens before the old one
// closes, and the listener's ID changes.
func (h *handler) putListener(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	lbName, port, _ := cp.ParseListenerID(id)
	var in listenerInput
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
	newPort := port
	h.update(w, r, 200, func(c *config.Config) string { return cp.ListenerPath(lbName, newPort)(c) }, func(s *cp.State, cur *config.Config) error {
		lb, i, err := apiListener(s, id)
		if err != nil {
			return err
		}
		clb, cl := findListener(cur, id)
		if err := precondition(r, listenerView(s, clb, cl)); err != nil {
			return err
		}
		if patch != nil {
			raw := lb.Listeners[i]
			raw.Rules = nil
			if err := patched(&raw, patch, &in, "id", "managed_by", "load_balancer", "rule_ids"); err != nil {
				return err
			}
		}
		if in.Rules != nil {
			return cp.Invalid("rules", "", "rules are changed through /api/v1/rules, not with their listener")
		}
		if in.LoadBalancer != "" && in.LoadBalancer != lbName {
			return cp.Invalid("load_balancer", in.LoadBalancer, "a listener cannot move to another load balancer; create a new one there")
		}
		if in.Port == 0 {
			in.Port = port
		}
		if in.Port != port && slices.ContainsFunc(lb.Listeners, func(l config.Listener) bool { return l.Port == in.Port }) {
			return exists("listener", cp.ListenerID(lbName, in.Port))
		}
		in.Rules = lb.Listeners[i].Rules
		lb.Listeners[i] = in.Listener
		newPort = in.Port
		return nil
	}, listenerViewFn(lbName, &newPort))
}

func (h *handler) deleteListener(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	h.update(w, r, 204, nil, func(s *cp.State, cur *config.Config) error {
		lb, i, err := apiListener(s, id)
		if err != nil {
			return err
		}
		clb, cl := findListener(cur, id)
		if err := precondition(r, listenerView(s, clb, cl)); err != nil {
			return err
		}
		lb.Listeners = slices.Delete(lb.Listeners, i, i+1)
		return nil
	}, nil)
}

// randomName returns prefix followed by eight hex digits.
func randomName(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
