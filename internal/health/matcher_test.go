package health

import "testing"

func TestMatcher(t *testing.T) {
	tests := []struct {
		name string
		in   string
		str  string
		good []int
		bad  []int
	}{
		{name: "single", in: "200", str: "200", good: []int{200}, bad: []int{199, 201, 404}},
		{name: "list", in: "200,404", str: "200,404", good: []int{200, 404}, bad: []int{201, 403, 500}},
		{name: "range", in: "200-299", str: "200-299", good: []int{200, 250, 299}, bad: []int{199, 300}},
		{name: "mixed", in: "404, 200-204", str: "200-204,404", good: []int{200, 204, 404}, bad: []int{205}},
		{name: "merged", in: "200-250,240-299,300", str: "200-300", good: []int{270, 300}, bad: []int{301}},
		{name: "grpc", in: "0-2,12", str: "0-2,12", good: []int{0, 1, 2, 12}, bad: []int{3, 14}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMatcher(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			for _, c := range tt.good {
				if !m.Match(c) {
					t.Errorf("Match(%d) = false, want true", c)
				}
			}
			for _, c := range tt.bad {
				if m.Match(c) {
					t.Errorf("Match(%d) = true, want false", c)
				}
			}
		})
	}
}

func TestNewMatcher(t *testing.T) {
	m := NewMatcher([][2]int{{404, 404}, {299, 200}})
	if got, want := m.String(), "200-299,404"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if !m.Match(250) || !m.Match(404) || m.Match(300) {
		t.Errorf("%v matches wrongly", m)
	}
	var zero Matcher
	if !zero.IsZero() || zero.Match(200) || zero.String() != "" {
		t.Errorf("zero Matcher not empty")
	}
}

func TestParseMatcherErrors(t *testing.T) {
	for _, in := range []string{"", " ", "abc", "200,", "-200", "299-200", "200-", "+200", "2xx"} {
		t.Run(in, func(t *testing.T) {
			if m, err := ParseMatcher(in); err == nil {
				t.Errorf("ParseMatcher(%q) = %v, want error", in, m)
			}
		})
	}
}

func TestDefaultMatcher(t *testing.T) {
	if got := (Settings{}).withDefaults().Matcher.String(); got != "200" {
		t.Errorf("HTTP default matcher = %q, want 200", got)
	}
	if got := (Settings{GRPC: true}).withDefaults().Matcher.String(); got != "12" {
		t.Errorf("gRPC default matcher = %q, want 12", got)
	}
}
