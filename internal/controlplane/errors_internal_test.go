package controlplane

import (
	"errors"
	"testing"

	"github.com/sluicelb/sluice/internal/config"
)

// TestRelative checks how validation paths of the composed config are
// reported: relative to the resource being changed, and by resource ID
// elsewhere.
func TestRelative(t *testing.T) {
	c := &config.Config{
		LoadBalancers: []config.LoadBalancer{{Name: "filelb"}, {Name: "web", Listeners: []config.Listener{
			{Port: 80, Rules: []config.Rule{{Name: "chat"}, {Priority: 7}}},
			{Port: 443},
		}}},
		TargetGroups: []config.TargetGroup{{Name: "app"}},
		Certificates: []config.Certificate{{Name: "site"}},
	}
	cases := []struct {
		field, at, want string
	}{
		{"target_groups[0].health_check.interval", "target_groups[0]", "health_check.interval"},
		{"target_groups[0]", "target_groups[0]", "(resource)"},
		{"target_groups[0].targets[1].port", "target_groups[0]", "targets[1].port"},
		{"load_balancers[1].listeners[0].default_actions[0].target_group", "load_balancers[1].listeners[0]", "default_actions[0].target_group"},
		{"load_balancers[1].listeners[0].rules[0].priority", "load_balancers[1].listeners[0].rules[0]", "priority"},
		// Another resource than the focus: named by its ID.
		{"load_balancers[1].listeners[0].default_actions[0].target_group", "target_groups[0]", "listener web:80: default_actions[0].target_group"},
		{"load_balancers[1].listeners[0].rules[1].actions[0]", "", "rule web:80:priority-7: actions[0]"},
		{"load_balancers[1].listeners[1]", "", "listener web:443"},
		{"load_balancers[1].name", "", "load balancer web: name"},
		{"certificates[0].domains[0]", "target_groups[0]", "certificate site: domains[0]"},
		// A prefix of the focus that is not the focus.
		{"target_groups[10].port", "target_groups[1]", "target_groups[10].port"},
		{"target_groups[5].port", "", "target_groups[5].port"},
		{"version", "target_groups[0]", "version"},
	}
	for _, tc := range cases {
		if got := relative(tc.field, tc.at, c); got != tc.want {
			t.Errorf("relative(%q, %q) = %q, want %q", tc.field, tc.at, got, tc.want)
		}
	}
}

// TestAllowNoListeners keeps every validation error but the missing
// listeners of the load balancers the API created.
func TestAllowNoListeners(t *testing.T) {
	list := config.ErrorList{
		{Field: "load_balancers[0].listeners", Msg: "missing; add at least one listener"},
		{Field: "load_balancers[1].listeners", Msg: "missing; add at least one listener"},
		{Field: "load_balancers[1].idle_timeout", Value: "0s", Msg: "out of range"},
		{Field: "load_balancers[12].listeners", Msg: "missing; add at least one listener"},
	}
	var got config.ErrorList
	if !errors.As(allowNoListeners(list, 1), &got) || len(got) != 2 ||
		got[0].Field != "load_balancers[0].listeners" || got[1].Field != "load_balancers[1].idle_timeout" {
		t.Errorf("got %v", got)
	}
	if err := allowNoListeners(list[1:2], 1); err != nil {
		t.Errorf("only API load balancers without listeners: %v", err)
	}
	other := errors.New("not a list")
	if err := allowNoListeners(other, 0); err != other {
		t.Errorf("a plain error: %v", err)
	}
	if err := allowNoListeners(nil, 0); err != nil {
		t.Errorf("nil: %v", err)
	}
}

func TestNameResources(t *testing.T) {
	c := &config.Config{LoadBalancers: []config.LoadBalancer{{Name: "web", Listeners: []config.Listener{{Port: 80}, {Port: 443}}}}}
	got := nameResources("80 is already used by load_balancers[0].listeners[1] on 127.0.0.1", c)
	if want := "80 is already used by listener web:443 on 127.0.0.1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
