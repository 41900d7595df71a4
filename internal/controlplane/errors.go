package controlplane

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicelb/sluice/internal/config"
)

// Error codes, as the admin API reports them.
const (
	CodeValidation   = "ValidationError"
	CodeNotFound     = "NotFound"
	CodeFileManaged  = "FileManaged"
	CodeExists       = "AlreadyExists"
	CodeInUse        = "ResourceInUse"
	CodeConflict     = "Conflict"
	CodePortInUse    = "PortInUse"
	CodePrecondition = "PreconditionFailed"
)

// Error is a refused change, with what the API answers.
type Error struct {
	Status  int
	Code    string
	Message string
	Fields  []FieldError
}

// FieldError is one invalid field. Field is a path inside the resource
// being changed ("health_check.interval"), or names another resource the
// change made invalid ("listener web:80: default_actions[0].target_group").
type FieldError struct {
	Field   string `json:"field"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
	}
	return b.String()
}

// NotFound returns a 404 for the named resource.
func NotFound(kind, id string) *Error {
	return &Error{Status: 404, Code: CodeNotFound, Message: fmt.Sprintf("%s %q does not exist", kind, id)}
}

// FileManaged returns the 409 for a change to a resource the file declares.
func FileManaged(kind, id, file string) *Error {
	return &Error{Status: 409, Code: CodeFileManaged, Message: fmt.Sprintf("%s %q is declared in the config file %s; change it there (sluice reloads the file when it changes)", kind, id, file)}
}

// Invalid returns a 400 about one field of the request.
func Invalid(field, value, msg string) *Error {
	return &Error{Status: 400, Code: CodeValidation, Message: msg, Fields: []FieldError{{Field: field, Value: value, Message: msg}}}
}

// FromFragment turns the errors of decoding a request body into a 400.
func FromFragment(err error) error {
	var list config.ErrorList
	if !errors.As(err, &list) {
		return &Error{Status: 400, Code: CodeValidation, Message: "the request body is not valid JSON: " + err.Error()}
	}
	e := &Error{Status: 400, Code: CodeValidation, Message: "the request body is not valid"}
	for _, fe := range list {
		field := fe.Field
		if field == "" {
			field = "(body)"
		}
		e.Fields = append(e.Fields, FieldError{Field: field, Value: fe.Value, Message: fe.Msg})
	}
	if len(e.Fields) > 0 {
		e.Message = e.Fields[0].Field + ": " + e.Fields[0].Message
	}
	return e
}

// validationError turns the errors of validating composed config c into a
// 400 whose fields are relative to the resource at focus(c).
func validationError(err error, c *config.Config, focus func(*config.Config) string) error {
	var list config.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	at := ""
	if focus != nil && c != nil {
		at = focus(c)
	}
	e := &Error{Status: 400, Code: CodeValidation}
	for _, fe := range list {
		e.Fields = append(e.Fields, FieldError{Field: relative(fe.Field, at, c), Value: fe.Value, Message: nameResources(fe.Msg, c)})
	}
	if len(e.Fields) > 0 {
		e.Message = e.Fields[0].Field + ": " + e.Fields[0].Message
		if len(e.Fields) > 1 {
			e.Message += fmt.Sprintf(" (and %d more %s)", len(e.Fields)-1, plural(len(e.Fields)-1, "problem"))
		}
	} else {
		e.Message = err.Error()
	}
	return e
}

// applyError classifies a failure to apply a valid configuration: a port
// that cannot be bound is the user's to fix (409), the rest is reported as
// it is.
func applyError(err error, c *config.Config, focus func(*config.Config) string) error {
	var list config.ErrorList
	var one *config.Error
	switch {
	case errors.As(err, &list):
		return validationError(err, c, focus)
	case errors.As(err, &one):
		return validationError(config.ErrorList{one}, c, focus)
	case strings.Contains(err.Error(), "address already in use"):
		return &Error{Status: 409, Code: CodePortInUse, Message: err.Error() + "; another process holds the port: pick another port or stop it"}
	}
	return &Error{Status: 400, Code: CodeValidation, Message: "the change cannot be applied: " + err.Error()}
}

var segment = regexp.MustCompile(`^(load_balancers|target_groups|certificates)\[(\d+)\](?:\.listeners\[(\d+)\](?:\.rules\[(\d+)\])?)?`)

// relative rewrites a composed-config path: under at, it becomes relative
// to at; elsewhere its leading indexes become the resource's ID.
func relative(field, at string, c *config.Config) string {
	if at != "" {
		if field == at {
			return "(resource)"
		}
		if rest, ok := strings.CutPrefix(field, at); ok && (rest[0] == '.' || rest[0] == '[') {
			return strings.TrimPrefix(rest, ".")
		}
	}
	m := segment.FindStringSubmatch(field)
	if m == nil || c == nil {
		return field
	}
	rest := strings.TrimPrefix(field[len(m[0]):], ".")
	i, _ := strconv.Atoi(m[2])
	var name string
	switch m[1] {
	case "target_groups":
		if i < len(c.TargetGroups) {
			name = "target group " + c.TargetGroups[i].Name
		}
	case "certificates":
		if i < len(c.Certificates) {
			name = "certificate " + c.Certificates[i].Name
		}
	case "load_balancers":
		if i >= len(c.LoadBalancers) {
			break
		}
		lb := &c.LoadBalancers[i]
		name = "load balancer " + lb.Name
		if m[3] != "" {
			j, _ := strconv.Atoi(m[3])
			if j < len(lb.Listeners) {
				l := &lb.Listeners[j]
				name = "listener " + ListenerID(lb.Name, l.Port)
				if m[4] != "" {
					k, _ := strconv.Atoi(m[4])
					if k < len(l.Rules) {
						name = "rule " + RuleID(lb.Name, l.Port, &l.Rules[k])
					}
				}
			}
		}
	}
	if name == "" {
		return field
	}
	if rest == "" {
		return name
	}
	return name + ": " + rest
}

var resourcePath = regexp.MustCompile(`(load_balancers|target_groups|certificates)\[\d+\](\.listeners\[\d+\](\.rules\[\d+\])?)?`)

// nameResources rewrites the composed-config paths a message mentions
// ("is already used by load_balancers[0].listeners[1]") as the resources
// the API knows ("listener web:443").
func nameResources(msg string, c *config.Config) string {
	if c == nil {
		return msg
	}
	return resourcePath.ReplaceAllStringFunc(msg, func(p string) string { return relative(p, "", c) })
}

// ListenerID is a listener's ID: LB:PORT.
func ListenerID(lb string, port int) string { return lb + ":" + strconv.Itoa(port) }

// RuleID is a rule's ID: LB:PORT:NAME.
func RuleID(lb string, port int, r *config.Rule) string {
	return ListenerID(lb, port) + ":" + config.RuleName(r)
}

// ParseListenerID splits LB:PORT.
func ParseListenerID(id string) (lb string, port int, ok bool) {
	lb, p, found := strings.Cut(id, ":")
	if !found || lb == "" {
		return "", 0, false
	}
	port, err := strconv.Atoi(p)
	return lb, port, err == nil && port > 0 && port < 65536
}

// ParseRuleID splits LB:PORT:NAME.
func ParseRuleID(id string) (listener, name string, ok bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", "", false
	}
	listener, name = id[:i], id[i+1:]
	_, _, ok = ParseListenerID(listener)
	return listener, name, ok && name != ""
}

// Paths of resources in a composed config, for Update's focus.

// LBPath locates the load balancer name.
func LBPath(name string) func(*config.Config) string {
	return func(c *config.Config) string {
		for i := range c.LoadBalancers {
			if c.LoadBalancers[i].Name == name {
				return fmt.Sprintf("load_balancers[%d]", i)
			}
		}
		return ""
	}
}

// ListenerPath locates the listener lb:port.
func ListenerPath(lb string, port int) func(*config.Config) string {
	return func(c *config.Config) string {
		for i := range c.LoadBalancers {
			if c.LoadBalancers[i].Name != lb {
				continue
			}
			for j := range c.LoadBalancers[i].Listeners {
				if c.LoadBalancers[i].Listeners[j].Port == port {
					return fmt.Sprintf("load_balancers[%d].listeners[%d]", i, j)
				}
			}
		}
		return ""
	}
}

// RulePath locates the rule named name of listener lb:port.
func RulePath(lb string, port int, name string) func(*config.Config) string {
	return func(c *config.Config) string {
		lp := ListenerPath(lb, port)(c)
		if lp == "" {
			return ""
		}
		for i := range c.LoadBalancers {
			for j := range c.LoadBalancers[i].Listeners {
				l := &c.LoadBalancers[i].Listeners[j]
				if c.LoadBalancers[i].Name != lb || l.Port != port {
					continue
				}
				for k := range l.Rules {
					if config.RuleName(&l.Rules[k]) == name {
						return fmt.Sprintf("%s.rules[%d]", lp, k)
					}
				}
			}
		}
		return ""
	}
}

// TGPath locates the target group name.
func TGPath(name string) func(*config.Config) string {
	return func(c *config.Config) string {
		for i := range c.TargetGroups {
			if c.TargetGroups[i].Name == name {
				return fmt.Sprintf("target_groups[%d]", i)
			}
		}
		return ""
	}
}

// CertPath locates the certificate name.
func CertPath(name string) func(*config.Config) string {
	return func(c *config.Config) string {
		for i := range c.Certificates {
			if c.Certificates[i].Name == name {
				return fmt.Sprintf("certificates[%d]", i)
			}
		}
		return ""
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
