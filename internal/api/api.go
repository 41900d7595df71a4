// Package api serves the admin REST API: JSON under /api/v1 for every
// resource of the control plane, target health and certificates, behind a
// bearer token, plus an unauthenticated liveness probe at /healthz.
//
// Resource bodies use the config file's snake_case keys. Reads show
// effective values (defaults filled in); writes go through
// controlplane.Plane.Update, so a change is validated, applied and stored
// as a whole or not at all.
package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/target"
)

// maxBody bounds request bodies; certificates with long chains fit.
const maxBody = 1 << 20

// Runtime is what the API reads from the running server.
type Runtime interface {
	// Targets returns the registered targets of a group.
	Targets(group string) []*target.Target
	// Draining returns the targets being drained.
	Draining() []target.DrainingTarget
	// Certificate returns what the named certificate serves now, or nil.
	Certificate(name string) *tls.Certificate
	// RenewCertificate renews a local CA or ACME certificate ahead of
	// schedule.
	RenewCertificate(name string) error
}

// Options configures the API handler.
type Options struct {
	Plane   *controlplane.Plane
	Runtime Runtime
	// Token is the bearer token every endpoint but /healthz requires.
	Token string
	// Metrics serves GET /metrics (Prometheus exposition); nil for none.
	Metrics http.Handler
	Logger  *slog.Logger
}

// handler serves the API.
type handler struct {
	o   Options
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the API's HTTP handler.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &handler{o: o, log: o.Logger, mux: http.NewServeMux()}
	h.routes()
	return h
}

func (h *handler) routes() {
	m := h.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ok"})
	})
	h.lbRoutes()
	h.listenerRoutes()
	h.ruleRoutes()
	h.tgRoutes()
	h.certRoutes()
	m.HandleFunc("GET /api/v1/export", h.export)
	if h.o.Metrics != nil {
		m.Handle("GET /metrics", h.o.Metrics)
	}
	// No catch-all pattern for unknown paths: it would match every method
	// and hide the mux's 405 for a known path; statusWriter makes the
	// mux's own 404 and 405 JSON.
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != "/healthz" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
		writeError(w, &controlplane.Error{Status: 401, Code: "Unauthorized",
			Message: "missing or wrong bearer token: send Authorization: Bearer TOKEN; `sluice admin token` prints it"})
		return
	}
	// Unknown paths get 404 and method mismatches on a known path 405
	// from the mux; make their bodies JSON like every other error.
	rec := &statusWriter{ResponseWriter: w, r: r}
	h.mux.ServeHTTP(rec, r)
}

func (h *handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && h.o.Token != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(h.o.Token)) == 1
}

// statusWriter turns the mux's plain-text 404 and 405 into JSON errors.
type statusWriter struct {
	http.ResponseWriter
	r       *http.Request
	swallow bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		s.ResponseWriter.WriteHeader(code)
		return
	}
	var e *controlplane.Error
	switch code {
	case http.StatusMethodNotAllowed:
		e = &controlplane.Error{Status: code, Code: "MethodNotAllowed",
			Message: "method not allowed on this path; the Allow header lists the ones that are"}
	case http.StatusNotFound:
		e = &controlplane.Error{Status: code, Code: controlplane.CodeNotFound,
			Message: fmt.Sprintf("no API endpoint %s %s; see the README's API reference", s.r.Method, s.r.URL.Path)}
	default:
		s.ResponseWriter.WriteHeader(code)
		return
	}
	s.swallow = true
	writeError(s.ResponseWriter, e)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.swallow {
		return len(b), nil
	}
	return s.ResponseWriter.Write(b)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = 500, []byte(`{"error":{"code":"InternalError","message":"encoding the response failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeResource writes one resource view with its ETag.
func writeResource(w http.ResponseWriter, status int, v map[string]any) {
	w.Header().Set("ETag", etag(v))
	writeJSON(w, status, v)
}

type errorBody struct {
	Code    string                    `json:"code"`
	Message string                    `json:"message"`
	Fields  []controlplane.FieldError `json:"fields,omitempty"`
}

// writeError writes err as the API's error body.
func writeError(w http.ResponseWriter, err error) {
	var e *controlplane.Error
	if !errors.As(err, &e) {
		e = &controlplane.Error{Status: 500, Code: "InternalError", Message: err.Error()}
	}
	writeJSON(w, e.Status, map[string]errorBody{"error": {Code: e.Code, Message: e.Message, Fields: e.Fields}})
}

// etag is a view's entity tag: a hash of its JSON.
func etag(v map[string]any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// precondition refuses a write when the request's If-Match names another
// version of the resource than view.
func precondition(r *http.Request, view map[string]any) error {
	want := r.Header.Get("If-Match")
	if want == "" || want == "*" {
		return nil
	}
	if cur := etag(view); !strings.Contains(want, cur) {
		return &controlplane.Error{Status: 412, Code: controlplane.CodePrecondition,
			Message: fmt.Sprintf("the resource changed since you read it (If-Match %s, now %s); read it again and retry", want, cur)}
	}
	return nil
}

// readBody decodes the request body strictly into v.
func readBody(r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return &controlplane.Error{Status: 413, Code: controlplane.CodeValidation, Message: fmt.Sprintf("the request body is over %d bytes", maxBody)}
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return controlplane.Invalid("(body)", "", "the request body is empty; send a JSON object")
	}
	if err := checkJSONObject(b); err != nil {
		return err
	}
	if err := config.DecodeFragment(b, v); err != nil {
		return controlplane.FromFragment(err)
	}
	return nil
}

// checkJSONObject refuses a body that is not one JSON object, with
// encoding/json's account of where it goes wrong.
func checkJSONObject(b []byte) error {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	err := dec.Decode(&obj)
	var ute *json.UnmarshalTypeError
	switch {
	case errors.As(err, &ute):
		return controlplane.Invalid("(body)", "", fmt.Sprintf("the request body is a JSON %s; send a JSON object ({...})", ute.Value))
	case err != nil:
		return controlplane.Invalid("(body)", "", "the request body is not valid JSON: "+err.Error())
	case dec.More():
		return controlplane.Invalid("(body)", "", fmt.Sprintf("the request body has more after its JSON object (at byte %d); send one object", dec.InputOffset()))
	}
	return nil
}

// readPatch decodes a JSON merge patch.
func readPatch(r *http.Request) (map[string]any, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, &controlplane.Error{Status: 413, Code: controlplane.CodeValidation, Message: fmt.Sprintf("the request body is over %d bytes", maxBody)}
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, controlplane.Invalid("(body)", "", "a PATCH body is a JSON object (a JSON merge patch): "+err.Error())
	}
	if p == nil {
		// "null" decodes to a nil map, which the handlers would take for
		// a PUT of an empty body.
		return nil, controlplane.Invalid("(body)", "null", "a PATCH body is a JSON object (a JSON merge patch), not null")
	}
	return p, nil
}

// patched applies a merge patch to doc, a config value, and decodes the
// result strictly into out.
func patched(doc any, patch map[string]any, out any, readOnly ...string) error {
	for _, k := range readOnly {
		delete(patch, k)
	}
	m := toMap(doc)
	mergePatch(m, patch)
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := config.DecodeFragment(b, out); err != nil {
		return controlplane.FromFragment(err)
	}
	return nil
}

// mergePatch applies RFC 7386 to doc.
func mergePatch(doc, patch map[string]any) {
	for k, v := range patch {
		if v == nil {
			delete(doc, k)
			continue
		}
		if pv, ok := v.(map[string]any); ok {
			dv, ok := doc[k].(map[string]any)
			if !ok {
				dv = map[string]any{}
			}
			mergePatch(dv, pv)
			doc[k] = dv
			continue
		}
		doc[k] = v
	}
}

// toMap renders a config value as a JSON object with the config's keys.
func toMap(v any) map[string]any {
	b, err := controlplane.Encode(v)
	if err != nil {
		panic(fmt.Sprintf("api: encoding %T: %v", v, err))
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("api: decoding %T: %v", v, err))
	}
	return m
}

func managedBy(file bool) string {
	if file {
		return "file"
	}
	return "api"
}

// export answers with the whole state as a config file plus the files of
// imported certificates (see controlplane.Plane.Export).
func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	out, files, err := h.o.Plane.Export()
	if err != nil {
		writeError(w, err)
		return
	}
	if files == nil {
		files = []controlplane.ExportFile{}
	}
	writeJSON(w, 200, map[string]any{"config": string(out), "files": files})
}

// compactActions shows an action written with the target_group shorthand
// as written: defaults expand it into an equivalent forward, which a view
// leaves out so that sending the view back stores what the user wrote.
func compactActions(view map[string]any, key string) {
	list, _ := view[key].([]any)
	for _, a := range list {
		if am, ok := a.(map[string]any); ok && am["target_group"] != nil {
			delete(am, "forward")
		}
	}
}
