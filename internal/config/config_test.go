package config

import (
	"errors"
	"github.com/sluicelb/sluice/internal/certs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExample(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sec := func(n int) Duration { return Duration(time.Duration(n) * time.Second) }
	lb := c.LoadBalancers[0]
	http, https := lb.Listeners[0], lb.Listeners[1]
	api, blue, green := c.TargetGroups[0], c.TargetGroups[1], c.TargetGroups[2]
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", c.Version, 1},
		{"lb name", lb.Name, "web"},
		{"idle_timeout", lb.IdleTimeout, sec(60)},
		{"client_keep_alive", lb.ClientKeepAlive, sec(3600)},
		{"xff", lb.XFFHeaderProcessing, "append"},
		{"desync", lb.DesyncMitigationMode, "defensive"},
		{"http2", *lb.HTTP2Enabled, true},
		{"http ssl_policy", http.SSLPolicy, ""},
		{"https ssl_policy", https.SSLPolicy, certs.DefaultPolicy},
		{"redirect", *http.DefaultActions[0].Redirect, RedirectConfig{
			Protocol: "HTTPS", Host: "#{host}", Port: "8443", Path: "/#{path}", Query: new("#{query}"), StatusCode: "HTTP_301"}},
		{"rule 10 shorthand kept", https.Rules[0].Actions[0].TargetGroup, "api"},
		{"rule 10 forward", https.Rules[0].Actions[0].Forward.TargetGroups, []WeightedTargetGroup{{Name: "api", Weight: new(1)}}},
		{"rule 20 conditions", len(https.Rules[1].Conditions), 2},
		{"fixed response", *https.Rules[1].Actions[0].FixedResponse, FixedResponseConfig{StatusCode: "403", ContentType: "text/plain", MessageBody: "forbidden"}},
		{"weights", []int{*https.DefaultActions[0].Forward.TargetGroups[0].Weight, *https.DefaultActions[0].Forward.TargetGroups[1].Weight}, []int{90, 10}},
		{"group stickiness", *https.DefaultActions[0].Forward.Stickiness, GroupStickiness{Enabled: true, Duration: sec(3600)}},
		{"api protocol_version", api.ProtocolVersion, "HTTP1"},
		{"api targets", api.Targets, []Target{{ID: "127.0.0.1"}, {ID: "127.0.0.1", Port: 9002}}},
		{"api health check", *api.HealthCheck, HealthCheck{Enabled: new(true), Protocol: "HTTP", Port: "traffic-port", Path: "/health",
			Interval: sec(5), Timeout: sec(2), HealthyThreshold: 3, UnhealthyThreshold: 2, Matcher: "200-299"}},
		{"api algorithm", api.Attributes.LoadBalancingAlgorithm, "least_outstanding_requests"},
		{"api deregistration", *api.Attributes.DeregistrationDelay, sec(30)},
		{"api stickiness", *api.Attributes.Stickiness, Stickiness{Enabled: true, Type: "lb_cookie", Duration: sec(86400)}},
		{"blue health check", *blue.HealthCheck, HealthCheck{Enabled: new(true), Protocol: "HTTP", Port: "traffic-port", Path: "/",
			Interval: sec(30), Timeout: sec(5), HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "200"}},
		{"blue algorithm", blue.Attributes.LoadBalancingAlgorithm, "round_robin"},
		{"blue deregistration", *blue.Attributes.DeregistrationDelay, sec(300)},
		{"blue stickiness", blue.Attributes.Stickiness, (*Stickiness)(nil)},
		{"blue fail open", *blue.Attributes.TargetGroupHealth, TargetGroupHealth{UnhealthyStateRouting{MinimumHealthyTargetsCount: 1}}},
		{"green health check", *green.HealthCheck, HealthCheck{Enabled: new(true), Protocol: "HTTP", Port: "traffic-port", Path: "/health",
			Interval: sec(30), Timeout: sec(5), HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "200,404"}},
		{"certificate", c.Certificates[0], Certificate{Name: "site", CertFile: "./certs/site.pem", KeyFile: "./certs/site.key"}},
		{"resolve cert", c.Resolve(c.Certificates[0].CertFile), filepath.Join("testdata", "certs", "site.pem")},
		{"resolve absolute", c.Resolve("/etc/site.pem"), "/etc/site.pem"},
		{"path", c.Path(), filepath.Join("testdata", "example.yaml")},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %+v, want %+v", ch.name, ch.got, ch.want)
		}
	}
	// Defaults are idempotent and the result still validates.
	again, err := Load(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	again.ApplyDefaults()
	if !reflect.DeepEqual(c, again) {
		t.Error("ApplyDefaults changed an already defaulted config")
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate after Load: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Decode("defaults.yaml", []byte(`version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: 80
        default_actions:
          - type: fixed-response
            fixed_response: { status_code: "404" }
      - protocol: HTTP
        port: 81
        default_actions:
          - type: forward
            forward:
              target_groups: [{ name: g }]
              stickiness: { enabled: true }
target_groups:
  - name: g
    protocol: HTTPS
    protocol_version: GRPC
    port: 50051
    attributes:
      stickiness: { enabled: true }
`))
	if err != nil {
		t.Fatal(err)
	}
	l := c.LoadBalancers[0].Listeners
	tg := c.TargetGroups[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"content type", l[0].DefaultActions[0].FixedResponse.ContentType, "text/plain"},
		{"weight", *l[1].DefaultActions[0].Forward.TargetGroups[0].Weight, 1},
		{"group stickiness", l[1].DefaultActions[0].Forward.Stickiness.Duration, Duration(time.Hour)},
		{"health check", *tg.HealthCheck, HealthCheck{Enabled: new(true), Protocol: "HTTPS", Port: "traffic-port", Path: "/AWS.ALB/healthcheck",
			Interval: Duration(30 * time.Second), Timeout: Duration(5 * time.Second), HealthyThreshold: 5, UnhealthyThreshold: 2, Matcher: "12"}},
		{"stickiness", *tg.Attributes.Stickiness, Stickiness{Enabled: true, Type: "lb_cookie", Duration: Duration(24 * time.Hour)}},
		{"slow start", tg.Attributes.SlowStart, Duration(0)},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %+v, want %+v", ch.name, ch.got, ch.want)
		}
	}
}

func TestActionOrder(t *testing.T) {
	// The forward written first has order 2, so after sorting it is last;
	// the bad weight's error must still point at line 11, where it is written.
	src := `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: 80
        default_actions:
          - type: forward
            order: 2
            forward:
              target_groups: [{ name: tg, weight: 1000 }]
          - type: fixed-response
            order: 1
            fixed_response: { status_code: "200" }
target_groups:
  - { name: tg, protocol: HTTP, port: 9000 }
`
	_, err := Decode("order.yaml", []byte(src))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Decode error %v is not an ErrorList", err)
	}
	want := []string{
		"order.yaml:11:51: load_balancers[0].listeners[0].default_actions[1].forward.target_groups[0].weight: 1000 is out of range (0–999)",
		"order.yaml:8:19: load_balancers[0].listeners[0].default_actions[1].type: \"forward\" follows the fixed-response action at load_balancers[0].listeners[0].default_actions[0]",
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("error\n%s\ndoes not contain\n%s", got, w)
		}
	}
	if len(list) != 2 || list[0].Line != 8 {
		t.Errorf("want 2 errors sorted by line, got %v", list)
	}
}

func TestUnknownField(t *testing.T) {
	src := "version: 1\nload_balancers:\n  - name: web\n    idle_timeot: 30s\n"
	_, err := Decode("sluice.yaml", []byte(src))
	want := `sluice.yaml:4:5: load_balancers[0].idle_timeot: unknown field "idle_timeot"; did you mean "idle_timeout"?`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty file", "", "x.yaml:1:1: version: missing; add \"version: 1\""},
		{"no version", "load_balancers: []\n", "x.yaml:1:1: version: missing; add \"version: 1\""},
		{"version 2", "version: 2\n", "x.yaml:1:10: version: 2 is not a supported version"},
		{"not a mapping", "- 1\n", "x.yaml:1:1: version: the file is not a sluice config"},
		{"syntax", "version: 1\nload_balancers: [\n", "x.yaml:2:17: "},
		{"duplicate key", "version: 1\nversion: 1\n", "x.yaml:2:1: mapping key \"version\" already defined at [1:1]"},
		{"two documents", "version: 1\n---\nversion: 1\n", "x.yaml:2:1: a second YAML document"},
		{"int as string", "version: 1\ntarget_groups:\n  - port: \"80\"\n", "x.yaml:3:11: target_groups[0].port: the string \"80\" is not a whole number"},
		{"float as int", "version: 1\ntarget_groups:\n  - port: 80.5\n", "x.yaml:3:11: target_groups[0].port: 80.5 is not a whole number"},
		{"bool as string", "version: 1\nload_balancers:\n  - http2_enabled: \"yes\"\n", "x.yaml:3:20: load_balancers[0].http2_enabled: the string \"yes\" is not a boolean"},
		{"list for string", "version: 1\nload_balancers:\n  - name: [a]\n", "x.yaml:3:11: load_balancers[0].name: a list is not a string"},
		{"scalar for list", "version: 1\nload_balancers: web\n", "x.yaml:2:17: load_balancers: the string \"web\" is not a list"},
		{"scalar for mapping", "version: 1\nload_balancers:\n  - web\n", "x.yaml:3:5: load_balancers[0]: the string \"web\" is not a mapping"},
		{"bad duration", "version: 1\nload_balancers:\n  - idle_timeout: 5 minutes\n", "x.yaml:3:19: load_balancers[0].idle_timeout: invalid duration \"5 minutes\""},
		{"float duration", "version: 1\nload_balancers:\n  - idle_timeout: 1.5\n", "x.yaml:3:19: load_balancers[0].idle_timeout: 1.5 is not a duration"},
		{"tag", "version: 1\nload_balancers:\n  - name: !!str web\n", "x.yaml:3:11: load_balancers[0].name: YAML tags such as !!str are not supported"},
		{"unknown no suggestion", "version: 1\nfrobnicate: 1\n", "x.yaml:2:1: frobnicate: unknown field \"frobnicate\"; remove it or use one of: certificates, load_balancers, target_groups, version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("x.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("Decode succeeded")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tt.want) {
				t.Errorf("got  %s\nwant %s…", msg, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message spans several lines: %q", err.Error())
			}
		})
	}
}

func TestInMemoryValidate(t *testing.T) {
	c := &Config{Version: 1, LoadBalancers: []LoadBalancer{{Name: "web"}}}
	c.ApplyDefaults()
	err := c.Validate()
	want := "load_balancers[0].listeners: missing; add at least one listener"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if err := (&Config{}).Validate(); err == nil || !strings.Contains(err.Error(), `version: missing`) {
		t.Errorf("zero Config: got %v", err)
	}
	if err := (&Config{Version: 2}).Validate(); err == nil || !strings.Contains(err.Error(), `version: 2 is not a supported version`) {
		t.Errorf("version 2: got %v", err)
	}
	// Without ApplyDefaults an empty redirect host is reported.
	c = &Config{Version: 1, LoadBalancers: []LoadBalancer{{
		Name: "web", IdleTimeout: DefaultIdleTimeout, ClientKeepAlive: DefaultClientKeepAlive,
		XFFHeaderProcessing: "append", DesyncMitigationMode: "defensive",
		Listeners: []Listener{{Protocol: "HTTP", Port: 80, DefaultActions: []Action{{Type: ActionRedirect,
			Redirect: &RedirectConfig{Protocol: "HTTPS", Port: RedirectPort, Path: RedirectPath, StatusCode: "HTTP_301"}}}}},
	}}}
	want = "load_balancers[0].listeners[0].default_actions[0].redirect.host: missing; leave it out to keep #{host}"
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join("testdata", "does-not-exist.yaml")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// TestAliasesAreNotShared pins that a health check reused through a YAML
// alias gets its defaults from each group that uses it.
func TestAliasesAreNotShared(t *testing.T) {
	src := `version: 1
target_groups:
  - name: a
    protocol: HTTP
    port: 1
    health_check: &hc { path: /h }
  - name: b
    protocol: HTTPS
    port: 2
    health_check: *hc
`
	c, err := Decode("alias.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.TargetGroups[0].HealthCheck, c.TargetGroups[1].HealthCheck
	if a == b || a.Protocol != "HTTP" || b.Protocol != "HTTPS" || b.Path != "/h" {
		t.Errorf("health checks a=%+v (%p) b=%+v (%p)", a, a, b, b)
	}
}

// TestTagPanic pins a goccy panic found by FuzzDecode: a tag without a value
// where a list is expected crashed goccy's decoder. The schema check now
// refuses tags before goccy sees them.
func TestTagPanic(t *testing.T) {
	_, err := Decode("x.yaml", []byte("&1 version: 1\nload_balancers:\n   !09080 #00000"))
	want := "x.yaml:3:4: load_balancers: YAML tags such as !09080 are not supported"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got  %v\nwant %s…", err, want)
	}
}
