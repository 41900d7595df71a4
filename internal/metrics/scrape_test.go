package metrics

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scraped is one scrape of a Registry's Handler, parsed.
type scraped map[string]*dto.MetricFamily

func scrape(t *testing.T, r *Registry) scraped {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape: Content-Type %q, want text/plain", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

// labelString renders a metric's labels sorted, as k="v",k="v".
func labelString(m *dto.Metric) string {
	parts := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// pairs renders k, v, k, v... like labelString.
func pairs(kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, fmt.Sprintf("%s=%q", kv[i], kv[i+1]))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// metric returns the series of family name whose label set is exactly kv,
// failing the test when there is none.
func (s scraped) metric(t *testing.T, name string, kv ...string) *dto.Metric {
	t.Helper()
	want := pairs(kv...)
	for _, m := range s[name].GetMetric() {
		if labelString(m) == want {
			return m
		}
	}
	t.Fatalf("%s{%s}: no such series; have %v", name, want, s.series(name))
	return nil
}

// series lists a family's label sets, sorted.
func (s scraped) series(name string) []string {
	var out []string
	for _, m := range s[name].GetMetric() {
		out = append(out, labelString(m))
	}
	sort.Strings(out)
	return out
}

// value returns a counter's or gauge's value.
func (s scraped) value(t *testing.T, name string, kv ...string) float64 {
	t.Helper()
	m := s.metric(t, name, kv...)
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s{%s} is neither a counter nor a gauge", name, pairs(kv...))
	return 0
}

// want asserts a counter's or gauge's exact value.
func (s scraped) want(t *testing.T, v float64, name string, kv ...string) {
	t.Helper()
	if got := s.value(t, name, kv...); got != v {
		t.Errorf("%s{%s} = %v, want %v", name, pairs(kv...), got, v)
	}
}

// wantSeries asserts a family's exact label sets (given as pairs(...)).
func (s scraped) wantSeries(t *testing.T, name string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := s.series(name); !slices.Equal(got, want) {
		t.Errorf("%s series:\n got %q\nwant %q", name, got, want)
	}
}

// wantHistogram asserts a histogram's count, sum (to a nanosecond) and
// cumulative bucket counts, given for every bound in order.
func (s scraped) wantHistogram(t *testing.T, count uint64, sum float64, cumulative []uint64, name string, kv ...string) {
	t.Helper()
	h := s.metric(t, name, kv...).GetHistogram()
	if h == nil {
		t.Fatalf("%s{%s} is not a histogram", name, pairs(kv...))
	}
	if h.GetSampleCount() != count {
		t.Errorf("%s{%s} count = %d, want %d", name, pairs(kv...), h.GetSampleCount(), count)
	}
	if d := h.GetSampleSum() - sum; d > 1e-9 || d < -1e-9 {
		t.Errorf("%s{%s} sum = %v, want %v", name, pairs(kv...), h.GetSampleSum(), sum)
	}
	var got []uint64
	for i, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), 1) && i == len(bucketBounds) {
			if b.GetCumulativeCount() != count {
				t.Errorf("%s{%s} +Inf bucket = %d, want the count %d", name, pairs(kv...), b.GetCumulativeCount(), count)
			}
			break
		}
		if i >= len(bucketBounds) || b.GetUpperBound() != bucketBounds[i] {
			t.Fatalf("%s{%s} bucket %d has bound %v, want %v", name, pairs(kv...), i, b.GetUpperBound(), bucketBounds)
		}
		got = append(got, b.GetCumulativeCount())
	}
	if !slices.Equal(got, cumulative) {
		t.Errorf("%s{%s} buckets = %v, want %v", name, pairs(kv...), got, cumulative)
	}
}
