package router

import (
	"fmt"
	"net/netip"
	"testing"
)

// table100 builds 100 rules mixing every condition type. Rule i has
// priority i+1 and action i.
func table100(tb testing.TB) *Table {
	tb.Helper()
	var rules []Rule
	for i := range 100 {
		var conds []Condition
		switch i % 4 {
		case 0:
			conds = []Condition{
				must(tb)(HostHeader([]string{fmt.Sprintf("svc-%d.example.com", i), fmt.Sprintf("svc-%d.*.example.com", i)})),
				must(tb)(PathPattern([]string{fmt.Sprintf("/svc/%d/*", i)})),
			}
		case 1:
			conds = []Condition{
				must(tb)(PathPattern([]string{fmt.Sprintf("/api/v%d/*", i), fmt.Sprintf("/api/*/v%d", i)})),
				must(tb)(RequestMethod([]string{"GET", "HEAD"})),
			}
		case 2:
			conds = []Condition{
				must(tb)(HTTPHeader("X-Tenant", []string{fmt.Sprintf("tenant-%d", i), fmt.Sprintf("*-%d-beta", i)})),
				must(tb)(SourceIP([]string{"10.0.0.0/8", "2001:db8::/32"})),
			}
		case 3:
			conds = []Condition{
				must(tb)(HostHeader([]string{"*.example.net"})),
				must(tb)(QueryString([]KeyValue{{"version", fmt.Sprintf("%d.*", i)}, {"", fmt.Sprintf("canary-%d", i)}})),
			}
		}
		rules = append(rules, Rule{Priority: i + 1, Conditions: conds, Action: i})
	}
	t, err := NewTable(rules)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// benchRequests returns a request that only rule 99 (priority 100) matches,
// after partly matching every rule of its kind, and one that matches none.
func benchRequests() (hit, miss *Request) {
	h := HeaderMap{
		"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"},
		"X-Tenant":   {"tenant-x", "tenant-y"},
		"Accept":     {"*/*"},
	}
	hit = &Request{
		Method:   "POST",
		Host:     "Shop.Example.NET:8443",
		Path:     "/api/v1000/orders/42",
		RawQuery: "utm_source=news%20letter&page=2&version=99.1&sort=desc",
		Header:   h,
		SourceIP: netip.MustParseAddr("192.0.2.10"),
	}
	m := *hit
	m.RawQuery = "utm_source=news%20letter&page=2&version=100.1&sort=desc"
	return hit, &m
}

func TestBenchRequests(t *testing.T) {
	tbl := table100(t)
	hit, miss := benchRequests()
	if a, p, ok := tbl.Match(hit); !ok || a != 99 || p != 100 {
		t.Errorf("hit: Match = (%d, %d, %v), want (99, 100, true)", a, p, ok)
	}
	if a, p, ok := tbl.Match(miss); ok {
		t.Errorf("miss: Match = (%d, %d, true), want no match", a, p)
	}
}

func TestMatchAllocs(t *testing.T) {
	tbl := table100(t)
	hit, miss := benchRequests()
	for name, r := range map[string]*Request{"hit near end": hit, "no match": miss} {
		if n := testing.AllocsPerRun(1000, func() { tbl.Match(r) }); n != 0 {
			t.Errorf("%s: Match allocates %v times per run", name, n)
		}
	}
	// Every matcher on its own, including the decoding and v4-mapped paths.
	conds := map[string]Condition{
		"host":      must(t)(HostHeader([]string{"*.example.net"})),
		"path":      must(t)(PathPattern([]string{"/api/*/orders/?2"})),
		"header":    must(t)(HTTPHeader("x-tenant", []string{"*-y"})),
		"method":    must(t)(RequestMethod([]string{"PUT", "POST"})),
		"query":     must(t)(QueryString([]KeyValue{{"", `news\*`}, {"utm_*", "* letter"}})),
		"source-ip": must(t)(SourceIP([]string{"192.0.2.0/24"})),
	}
	mapped := *hit
	mapped.SourceIP = netip.MustParseAddr("::ffff:192.0.2.10")
	for name, c := range conds {
		for _, r := range []*Request{hit, &mapped} {
			if !c.Match(r) {
				t.Errorf("%s: does not match the bench request", name)
			}
			if n := testing.AllocsPerRun(1000, func() { c.Match(r) }); n != 0 {
				t.Errorf("%s: Match allocates %v times per run", name, n)
			}
		}
	}
}

func BenchmarkMatch100Rules(b *testing.B) {
	tbl := table100(b)
	hit, miss := benchRequests()
	for _, bc := range []struct {
		name string
		r    *Request
	}{{"hit-priority-100", hit}, {"no-match", miss}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tbl.Match(bc.r)
			}
		})
	}
}

func BenchmarkMatchParallel(b *testing.B) {
	tbl := table100(b)
	hit, _ := benchRequests()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := *hit
		for pb.Next() {
			if _, _, ok := tbl.Match(&r); !ok {
				b.Error("no match")
				return
			}
		}
	})
}

func BenchmarkWildcard(b *testing.B) {
	for _, bc := range []struct{ name, pattern, input string }{
		{"exact", "api.example.com", "API.example.com"},
		{"suffix", "*.example.com", "a.b.c.example.com"},
		{"backtracking", "*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	} {
		w, err := compileWildcard(bc.pattern, true, false)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.match(bc.input)
			}
		})
	}
}
