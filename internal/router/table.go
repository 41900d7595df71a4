package router

import (
	"errors"
	"fmt"
	"slices"
)

// Rule priorities, as on ALB.
const (
	MinPriority = 1
	MaxPriority = 50000
)

// Rule is one listener rule as the router sees it.
type Rule struct {
	// Priority orders rules, lowest first; 1–50000, unique within a Table.
	Priority int
	// Conditions must all match (AND). At least one is required: the rule
	// without conditions is the listener's default action, which the caller
	// runs when Match finds nothing.
	Conditions []Condition
	// Action is opaque to the router: the caller's index into its own
	// action table, returned by Match.
	Action int
}

// Table is an immutable set of rules in ascending priority order. It is safe
// for concurrent use. The zero Table, and a nil *Table, match nothing.
type Table struct {
	rules []Rule
}

// NewTable returns a Table holding rules sorted by ascending priority. It
// copies rules and their condition slices, so the caller may reuse them. It
// fails on a priority outside 1–50000, a priority used twice, a rule without
// conditions, or a nil condition.
func NewTable(rules []Rule) (*Table, error) {
	sorted := make([]Rule, len(rules))
	for i, r := range rules {
		if r.Priority < MinPriority || r.Priority > MaxPriority {
			return nil, fmt.Errorf("rule priority %d: outside %d–%d", r.Priority, MinPriority, MaxPriority)
		}
		if len(r.Conditions) == 0 {
			return nil, fmt.Errorf("rule priority %d: %w", r.Priority, errNoConditions)
		}
		for j, c := range r.Conditions {
			if c == nil {
				return nil, fmt.Errorf("rule priority %d: condition %d is nil", r.Priority, j)
			}
		}
		r.Conditions = slices.Clone(r.Conditions)
		sorted[i] = r
	}
	slices.SortFunc(sorted, func(a, b Rule) int { return a.Priority - b.Priority })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Priority == sorted[i-1].Priority {
			return nil, fmt.Errorf("rule priority %d: used by more than one rule", sorted[i].Priority)
		}
	}
	return &Table{rules: sorted}, nil
}

var errNoConditions = errors.New("a rule needs at least one condition; the default action has none")

// Match returns the Action and Priority of the first rule, in priority
// order, whose conditions all match r. ok is false when no rule matches, and
// the caller then runs the listener's default actions. Match allocates
// nothing.
func (t *Table) Match(r *Request) (action, priority int, ok bool) {
	action, priority, _, ok = t.MatchCount(r)
	return action, priority, ok
}

// MatchCount is Match that also reports how many rules were evaluated
// (ALB's RuleEvaluations).
func (t *Table) MatchCount(r *Request) (action, priority, evaluated int, ok bool) {
	if t == nil {
		return 0, 0, 0, false
	}
next:
	for i := range t.rules {
		rule := &t.rules[i]
		for _, c := range rule.Conditions {
			if !c.Match(r) {
				continue next
			}
		}
		return rule.Action, rule.Priority, i + 1, true
	}
	return 0, 0, len(t.rules), false
}

// Len returns the number of rules in t.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.rules)
}
