package router

import (
	"strings"
	"testing"
)

// constCondition is a Condition with a fixed answer.
type constCondition bool

func (c constCondition) Match(*Request) bool { return bool(c) }

// must returns a function that unwraps a constructor's result, failing tb
// on an error: must(t)(HostHeader(p)).
func must(tb testing.TB) func(Condition, error) Condition {
	return func(c Condition, err error) Condition {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
}

func TestTableMatch(t *testing.T) {
	host := must(t)(HostHeader([]string{"api.example.com"}))
	path := must(t)(PathPattern([]string{"/v1/*", "/v2/*"}))
	get := must(t)(RequestMethod([]string{"GET"}))
	anyPath := must(t)(PathPattern([]string{"*"}))
	// Given out of order on purpose.
	tbl, err := NewTable([]Rule{
		{Priority: 30, Conditions: []Condition{anyPath}, Action: 3},
		{Priority: 10, Conditions: []Condition{host, path, get}, Action: 1},
		{Priority: 20, Conditions: []Condition{host}, Action: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", tbl.Len())
	}
	tests := []struct {
		name         string
		req          Request
		wantAction   int
		wantPriority int
	}{
		{"all conditions of the first rule (AND)", Request{Method: "GET", Host: "api.example.com", Path: "/v2/x"}, 1, 10},
		{"one condition fails, next rule", Request{Method: "POST", Host: "api.example.com", Path: "/v1/x"}, 2, 20},
		{"values ORed within a condition", Request{Method: "GET", Host: "API.example.com:443", Path: "/v1/x"}, 1, 10},
		{"lowest priority wins over later matches", Request{Method: "GET", Host: "other", Path: "/v1/x"}, 3, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, p, ok := tbl.Match(&tt.req)
			if !ok || a != tt.wantAction || p != tt.wantPriority {
				t.Errorf("Match = (%d, %d, %v), want (%d, %d, true)", a, p, ok, tt.wantAction, tt.wantPriority)
			}
		})
	}
}

func TestTableNoMatch(t *testing.T) {
	tbl, err := NewTable([]Rule{{Priority: 1, Conditions: []Condition{constCondition(true), constCondition(false)}}})
	if err != nil {
		t.Fatal(err)
	}
	if a, p, ok := tbl.Match(&Request{}); ok || a != 0 || p != 0 {
		t.Errorf("Match = (%d, %d, %v), want (0, 0, false)", a, p, ok)
	}
	empty, err := NewTable(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := empty.Match(&Request{}); ok || empty.Len() != 0 {
		t.Error("empty table matched or has rules")
	}
	var nilTable *Table
	if _, _, ok := nilTable.Match(&Request{}); ok || nilTable.Len() != 0 {
		t.Error("nil table matched or has rules")
	}
}

func TestTableFirstMatchStopsEvaluation(t *testing.T) {
	calls := 0
	counting := countingCondition{&calls}
	tbl, err := NewTable([]Rule{
		{Priority: 5, Conditions: []Condition{constCondition(true)}, Action: 7},
		{Priority: 6, Conditions: []Condition{counting}, Action: 8},
		{Priority: 4, Conditions: []Condition{constCondition(false), counting}, Action: 9},
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, p, ok := tbl.Match(&Request{}); !ok || a != 7 || p != 5 {
		t.Fatalf("Match = (%d, %d, %v), want (7, 5, true)", a, p, ok)
	}
	if calls != 0 {
		t.Errorf("%d conditions evaluated after a failed condition or the first match", calls)
	}
}

type countingCondition struct{ n *int }

func (c countingCondition) Match(*Request) bool { *c.n++; return true }

func TestTableCopiesInput(t *testing.T) {
	conds := []Condition{constCondition(true)}
	rules := []Rule{{Priority: 1, Conditions: conds, Action: 1}}
	tbl, err := NewTable(rules)
	if err != nil {
		t.Fatal(err)
	}
	conds[0] = constCondition(false)
	rules[0].Action = 2
	if a, _, ok := tbl.Match(&Request{}); !ok || a != 1 {
		t.Errorf("Match = (%d, %v) after the caller changed its slices, want (1, true)", a, ok)
	}
}

func TestNewTableErrors(t *testing.T) {
	yes := []Condition{constCondition(true)}
	tests := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"duplicate priority", []Rule{{Priority: 7, Conditions: yes}, {Priority: 3, Conditions: yes}, {Priority: 7, Conditions: yes}}, "priority 7: used by more than one rule"},
		{"priority zero", []Rule{{Priority: 0, Conditions: yes}}, "outside"},
		{"priority negative", []Rule{{Priority: -1, Conditions: yes}}, "outside"},
		{"priority too high", []Rule{{Priority: 50001, Conditions: yes}}, "outside"},
		{"no conditions", []Rule{{Priority: 1}}, "at least one condition"},
		{"nil condition", []Rule{{Priority: 1, Conditions: []Condition{nil}}}, "is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTable(tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewTable error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewTable([]Rule{{Priority: 1, Conditions: yes}, {Priority: 50000, Conditions: yes}}); err != nil {
		t.Errorf("priorities 1 and 50000 refused: %v", err)
	}
}
