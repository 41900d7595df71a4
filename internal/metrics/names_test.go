package metrics

import (
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// cloudWatchMetrics are the ALB metrics the reference lists; each must be in
// Names.
var cloudWatchMetrics = []string{
	"RequestCount", "ActiveConnectionCount", "NewConnectionCount", "RejectedConnectionCount",
	"ProcessedBytes", "ClientTLSNegotiationErrorCount",
	"HTTPCode_ELB_3XX_Count", "HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count",
	"HTTPCode_ELB_500_Count", "HTTPCode_ELB_502_Count", "HTTPCode_ELB_503_Count", "HTTPCode_ELB_504_Count",
	"HTTP_Redirect_Count", "HTTP_Fixed_Response_Count", "RuleEvaluations",
	"DesyncMitigationMode_NonCompliant_Request_Count", "NonStickyRequestCount",
	"HealthyHostCount", "UnHealthyHostCount",
	"HTTPCode_Target_2XX_Count", "HTTPCode_Target_3XX_Count", "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count",
	"RequestCountPerTarget", "TargetConnectionErrorCount", "TargetResponseTime", "TargetTLSNegotiationErrorCount",
}

var allowedLabels = []string{
	lLB, lListener, lGroup, lTarget, lOrigin, lCodeClass, lCode, lDirection,
	lClassification, lCertificate, lResult, lSource,
}

func TestNames(t *testing.T) {
	byName := map[string]*family{}
	for _, f := range families {
		if byName[f.name] != nil {
			t.Errorf("family %s defined twice", f.name)
		}
		byName[f.name] = f
	}
	listed := map[string]bool{}
	for _, n := range Names {
		listed[n.CloudWatch] = true
		f := byName[n.Prometheus]
		switch {
		case f == nil:
			t.Errorf("Names: %s → %s, no such family", n.CloudWatch, n.Prometheus)
			continue
		case n.Type != f.typ || !slices.Equal(n.Labels, f.labels):
			t.Errorf("Names: %s is %s %v, the family is %s %v", n.Prometheus, n.Type, n.Labels, f.typ, f.labels)
		}
		if n.CloudWatch != "" && !strings.Contains(f.help, n.CloudWatch) {
			t.Errorf("HELP of %s does not name %s: %q", f.name, n.CloudWatch, f.help)
		}
		if n.CloudWatch == "" && !strings.Contains(f.help, "sluice only") && !strings.Contains(f.help, "has no CloudWatch counterpart") &&
			!strings.Contains(f.help, "other codes") {
			t.Errorf("HELP of %s, listed without a CloudWatch metric, does not say so: %q", f.name, f.help)
		}
	}
	for _, cw := range cloudWatchMetrics {
		if !listed[cw] {
			t.Errorf("CloudWatch metric %s is not in Names", cw)
		}
	}
	inNames := map[string]bool{}
	for _, n := range Names {
		inNames[n.Prometheus] = true
	}
	for _, f := range families {
		if !inNames[f.name] {
			t.Errorf("family %s is not in Names", f.name)
		}
		if !strings.HasPrefix(f.name, "sluice_") {
			t.Errorf("family %s lacks the sluice_ prefix", f.name)
		}
		if (f.typ == typeCounter) != strings.HasSuffix(f.name, "_total") {
			t.Errorf("family %s: counters, and only counters, end in _total", f.name)
		}
		if !strings.Contains(f.help, "CloudWatch") && !strings.Contains(f.help, "sluice only") {
			t.Errorf("HELP of %s names no CloudWatch metric: %q", f.name, f.help)
		}
		for _, l := range f.labels {
			if !slices.Contains(allowedLabels, l) {
				t.Errorf("family %s has label %q, outside the allowed set", f.name, l)
			}
		}
	}
}

// TestExposition records one of everything and checks every family is
// exported with its TYPE, HELP and label names.
func TestExposition(t *testing.T) {
	r := New()
	for _, e := range script {
		r.Request(e)
	}
	r.ConnOpened(lb, https)
	r.TargetConnError(lb, api, target1)
	r.ACME("example.com", true)
	r.ConfigReload("file", true)
	r.SetAccessLogDropped(func() uint64 { return 1 })
	r.SetState(func() State {
		return State{
			Groups:       []GroupHealth{{LoadBalancer: lb, TargetGroup: api, Healthy: 1}},
			Certificates: []CertExpiry{{Name: "example.com", NotAfter: t0}},
		}
	})
	s := scrape(t, r)
	types := map[string]dto.MetricType{
		typeCounter: dto.MetricType_COUNTER, typeGauge: dto.MetricType_GAUGE, typeHistogram: dto.MetricType_HISTOGRAM,
	}
	for _, f := range families {
		mf := s[f.name]
		if mf == nil {
			t.Errorf("%s not exported", f.name)
			continue
		}
		if mf.GetType() != types[f.typ] {
			t.Errorf("%s has TYPE %v, want %s", f.name, mf.GetType(), f.typ)
		}
		if mf.GetHelp() != f.help {
			t.Errorf("%s has HELP %q, want %q", f.name, mf.GetHelp(), f.help)
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetName())
			}
			want := slices.Clone(f.labels)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s series has labels %v, want %v", f.name, got, want)
			}
		}
	}
}
