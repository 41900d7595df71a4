package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// exchange is one request the fake admin API expects and its answer.
type exchange struct {
	// req is "METHOD /path" plus "?query" as sent.
	req string
	// body is the JSON body expected, compared as JSON; "" expects none.
	body string
	// status defaults to 200.
	status int
	resp   string
	// repeat answers every further request with this exchange.
	repeat bool
}

// fakeAPI plays a script of exchanges and fails the test on any request
// out of script.
type fakeAPI struct {
	t      *testing.T
	mu     sync.Mutex
	script []exchange
	n      int
	auth   []string
}

func newFakeAPI(t *testing.T, script ...exchange) *httptest.Server {
	t.Helper()
	f := &fakeAPI{t: t, script: script}
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.n < len(f.script) && !f.script[f.n].repeat {
			t.Errorf("the CLI did not send %s", f.script[f.n].req)
		}
		for _, a := range f.auth {
			if a != "Bearer tok" {
				t.Errorf("Authorization %q, want Bearer tok", a)
			}
		}
	})
	return srv
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		got += "?" + r.URL.RawQuery
	}
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	if f.n >= len(f.script) {
		f.t.Errorf("unexpected request %s", got)
		w.WriteHeader(500)
		return
	}
	ex := f.script[f.n]
	if !ex.repeat {
		f.n++
	}
	if got != ex.req {
		f.t.Errorf("request %s, want %s", got, ex.req)
	}
	body, _ := io.ReadAll(r.Body)
	switch {
	case ex.body == "" && len(body) > 0:
		f.t.Errorf("%s: unexpected body %s", got, body)
	case ex.body != "":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			f.t.Errorf("%s: Content-Type %q", got, ct)
		}
		if !jsonEqual(body, []byte(ex.body)) {
			f.t.Errorf("%s body:\n got %s\nwant %s", got, body, ex.body)
		}
	}
	status := ex.status
	if status == 0 {
		status = 200
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, ex.resp)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// runCLI runs Main with args plus the fake's endpoint and token.
func runCLI(t *testing.T, srv *httptest.Server, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if srv != nil {
		args = append(args, "--endpoint", srv.URL, "--token", "tok")
	}
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

const (
	lbJSON       = `{"id":"web","name":"web","idle_timeout":"30s","desync_mitigation_mode":"defensive","listeners":["web:443"],"managed_by":"api"}`
	listenerJSON = `{"id":"web:443","load_balancer":"web","protocol":"HTTPS","port":443,"certificates":["site"],"default_actions":[{"type":"forward","target_group":"app"}],"managed_by":"api"}`
	ruleJSON     = `{"id":"web:443:chat","name":"chat","listener":"web:443","priority":10,"conditions":[{"field":"path-pattern","values":["/chat/*"]}],"actions":[{"type":"forward","target_group":"chat"}],"managed_by":"api"}`
	tgJSON       = `{"id":"app","name":"app","protocol":"HTTP","port":8080,"protocol_version":"HTTP1","health_check":{"protocol":"HTTP","path":"/health"},"registered_targets":2,"load_balancers":["web"],"managed_by":"api"}`
	healthJSON   = `{"target_health_descriptions":[{"target":{"id":"127.0.0.1","port":8081},"target_health":{"state":"healthy","reason":"","description":""},"managed_by":"api"},{"target":{"id":"127.0.0.1","port":8082},"target_health":{"state":"draining","reason":"Target.DeregistrationInProgress","description":"Target deregistration is in progress"},"draining":{"seconds_left":12,"open_connections":3}}]}`
)

func TestVerbRequests(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		script  []exchange
		wantOut []string
	}{
		{
			name: "create-load-balancer with idle timeout and attributes",
			args: []string{"create-load-balancer", "--name", "web", "--idle-timeout", "30",
				"--attributes", "Key=routing.http2.enabled,Value=false", "Key=routing.http.desync_mitigation_mode,Value=strictest"},
			script: []exchange{{req: "POST /api/v1/load_balancers", status: 201, resp: lbJSON,
				body: `{"name":"web","idle_timeout":"30s","http2_enabled":false,"desync_mitigation_mode":"strictest"}`}},
			wantOut: []string{"NAME", "IDLE TIMEOUT", "web", "web:443", "30s"},
		},
		{
			name: "create-load-balancer with every aws attribute key",
			args: []string{"create-load-balancer", "--name", "web",
				"--attributes", "Key=idle_timeout.timeout_seconds,Value=45 Key=client_keep_alive.seconds,Value=120",
				"--attributes", "Key=routing.http.xff_header_processing.mode,Value=preserve",
				"--attributes", "Key=routing.http.drop_invalid_header_fields.enabled,Value=true",
				"Key=routing.http.preserve_host_header.enabled,Value=TRUE",
				"Key=routing.http.xff_client_port.enabled,Value=true",
				"Key=routing.http.x_amzn_tls_version_and_cipher_suite.enabled,Value=true",
				"xff_header_processing=remove"},
			script: []exchange{{req: "POST /api/v1/load_balancers", status: 201, resp: lbJSON,
				body: `{"name":"web","idle_timeout":"45s","client_keep_alive":"120s","xff_header_processing":"remove",
				"drop_invalid_header_fields":true,"preserve_host_header":true,"xff_client_port":true,
				"x_amzn_tls_version_and_cipher_suite":true}`}},
		},
		{
			name: "modify-load-balancer-attributes with aws JSON",
			args: []string{"modify-load-balancer-attributes", "--load-balancer-arn", "web",
				"--attributes", `[{"Key":"routing.http.preserve_host_header.enabled","Value":"true"},{"Key":"idle_timeout","Value":"2m"}]`},
			script: []exchange{{req: "PATCH /api/v1/load_balancers/web", resp: lbJSON,
				body: `{"preserve_host_header":true,"idle_timeout":"2m"}`}},
			wantOut: []string{"KEY", "idle_timeout", "desync_mitigation_mode  defensive"},
		},
		{
			name:   "describe-load-balancer-attributes",
			args:   []string{"describe-load-balancer-attributes", "--name", "web"},
			script: []exchange{{req: "GET /api/v1/load_balancers/web", resp: lbJSON}},
		},
		{
			name:    "describe-load-balancers",
			args:    []string{"describe-load-balancers"},
			script:  []exchange{{req: "GET /api/v1/load_balancers", resp: `{"load_balancers":[` + lbJSON + `]}`}},
			wantOut: []string{"web:443"},
		},
		{
			name: "describe-load-balancers by names, aws style",
			args: []string{"describe-load-balancers", "--names", "web", "api"},
			script: []exchange{
				{req: "GET /api/v1/load_balancers/web", resp: lbJSON},
				{req: "GET /api/v1/load_balancers/api", resp: `{"name":"api"}`},
			},
			wantOut: []string{"web", "api "},
		},
		{
			name:    "delete-load-balancer",
			args:    []string{"delete-load-balancer", "--load-balancer-arn", "web"},
			script:  []exchange{{req: "DELETE /api/v1/load_balancers/web", status: 204}},
			wantOut: []string{"deleted load balancer web"},
		},
		{
			name: "create-listener HTTPS forward",
			args: []string{"create-listener", "--load-balancer-arn", "web", "--protocol", "https", "--port", "443",
				"--certificates", "CertificateArn=site", "CertificateArn=other", "--ssl-policy", "ELBSecurityPolicy-TLS13-1-3-2021-06",
				"--default-actions", "Type=forward,TargetGroupArn=app"},
			script: []exchange{{req: "POST /api/v1/listeners", status: 201, resp: listenerJSON,
				body: `{"load_balancer":"web","protocol":"HTTPS","port":443,"certificates":["site","other"],
				"ssl_policy":"ELBSecurityPolicy-TLS13-1-3-2021-06","default_actions":[{"type":"forward","target_group":"app"}]}`}},
			wantOut: []string{"web:443", "HTTPS", "forward app"},
		},
		{
			name: "create-listener HTTP redirect",
			args: []string{"create-listener", "--load-balancer", "web", "--protocol", "HTTP", "--port", "80",
				"--default-actions", "Type=redirect,Protocol=HTTPS,Port=443,StatusCode=HTTP_301"},
			script: []exchange{{req: "POST /api/v1/listeners", status: 201, resp: listenerJSON,
				body: `{"load_balancer":"web","protocol":"HTTP","port":80,
				"default_actions":[{"type":"redirect","redirect":{"protocol":"HTTPS","port":"443","status_code":"HTTP_301"}}]}`}},
		},
		{
			name: "create-listener with JSON actions and plain certificate list",
			args: []string{"create-listener", "--load-balancer", "web", "--port", "8443", "--certificates", "a,b",
				"--default-actions", `[{"type":"fixed-response","fixed_response":{"status_code":"503","message_body":"down"}}]`},
			script: []exchange{{req: "POST /api/v1/listeners", status: 201, resp: listenerJSON,
				body: `{"load_balancer":"web","port":8443,"certificates":["a","b"],
				"default_actions":[{"type":"fixed-response","fixed_response":{"status_code":"503","message_body":"down"}}]}`}},
		},
		{
			name:   "describe-listeners of a load balancer",
			args:   []string{"describe-listeners", "--load-balancer-arn", "web"},
			script: []exchange{{req: "GET /api/v1/listeners?load_balancer=web", resp: `{"listeners":[` + listenerJSON + `]}`}},
		},
		{
			name: "describe-listeners by ID",
			args: []string{"describe-listeners", "--listener-arns", "web:443,web:80"},
			script: []exchange{
				{req: "GET /api/v1/listeners/web:443", resp: listenerJSON},
				{req: "GET /api/v1/listeners/web:80", resp: listenerJSON},
			},
		},
		{
			name:   "modify-listener port",
			args:   []string{"modify-listener", "--listener-arn", "web:443", "--port", "8443"},
			script: []exchange{{req: "PATCH /api/v1/listeners/web:443", body: `{"port":8443}`, resp: listenerJSON}},
		},
		{
			name:    "delete-listener",
			args:    []string{"delete-listener", "--listener", "web:80"},
			script:  []exchange{{req: "DELETE /api/v1/listeners/web:80", status: 204}},
			wantOut: []string{"deleted listener web:80"},
		},
		{
			name: "create-rule path and header",
			args: []string{"create-rule", "--listener-arn", "web:443", "--priority", "10", "--name", "chat",
				"--conditions", "Field=path-pattern,Values=[/chat/*,/ws/*]",
				"--conditions", "Field=http-header,HttpHeaderName=X-Env,Values=[blue]",
				"--actions", "Type=forward,TargetGroup=chat"},
			script: []exchange{{req: "POST /api/v1/rules", status: 201, resp: ruleJSON,
				body: `{"listener":"web:443","name":"chat","priority":10,
				"conditions":[{"field":"path-pattern","values":["/chat/*","/ws/*"]},
				{"field":"http-header","http_header":{"name":"X-Env","values":["blue"]}}],
				"actions":[{"type":"forward","target_group":"chat"}]}`}},
			wantOut: []string{"web:443:chat", "path-pattern /chat/*", "forward chat"},
		},
		{
			name: "create-rule query string, hosts, aws nested config, fixed response",
			args: []string{"create-rule", "--listener", "web:443", "--priority", "5",
				"--conditions", "Field=query-string,QueryStringConfig={Values=[{Key=version,Value=2},{Value=beta}]}",
				"Field=host-header,Values=app.example.com,api.example.com",
				"Field=query-string,Values=[lang=en,*]",
				"--actions", "Type=fixed-response,StatusCode=503,ContentType=text/plain,MessageBody=down for maintenance, back soon"},
			script: []exchange{{req: "POST /api/v1/rules", status: 201, resp: ruleJSON,
				body: `{"listener":"web:443","priority":5,
				"conditions":[{"field":"query-string","query_string":[{"key":"version","value":"2"},{"value":"beta"}]},
				{"field":"host-header","values":["app.example.com","api.example.com"]},
				{"field":"query-string","query_string":[{"key":"lang","value":"en"},{"value":"*"}]}],
				"actions":[{"type":"fixed-response","fixed_response":{"status_code":"503","content_type":"text/plain","message_body":"down for maintenance, back soon"}}]}`}},
		},
		{
			name: "create-rule weighted forward with stickiness",
			args: []string{"create-rule", "--listener", "web:443", "--priority", "7",
				"--conditions", "Field=source-ip,SourceIpConfig={Values=[10.0.0.0/8]}",
				"--actions", "Type=forward,ForwardConfig={TargetGroups=[{TargetGroupArn=blue,Weight=9},{TargetGroupArn=green,Weight=1}],TargetGroupStickinessConfig={Enabled=true,DurationSeconds=600}}"},
			script: []exchange{{req: "POST /api/v1/rules", status: 201, resp: ruleJSON,
				body: `{"listener":"web:443","priority":7,
				"conditions":[{"field":"source-ip","values":["10.0.0.0/8"]}],
				"actions":[{"type":"forward","forward":{"target_groups":[{"name":"blue","weight":9},{"name":"green","weight":1}],
				"stickiness":{"enabled":true,"duration":"600s"}}}]}`}},
		},
		{
			name: "modify-rule redirect with placeholders",
			args: []string{"modify-rule", "--rule-arn", "web:443:chat",
				"--actions", "Type=redirect,Host=#{host},Path=/new/#{path},StatusCode=302"},
			script: []exchange{{req: "PATCH /api/v1/rules/web:443:chat", resp: ruleJSON,
				body: `{"actions":[{"type":"redirect","redirect":{"host":"#{host}","path":"/new/#{path}","status_code":"HTTP_302"}}]}`}},
		},
		{
			name: "set-rule-priorities, repeated flag",
			args: []string{"set-rule-priorities", "--rule-priorities", "RuleArn=web:443:a,Priority=2",
				"--rule-priorities", "RuleArn=web:443:b,Priority=1"},
			script: []exchange{{req: "POST /api/v1/rules/priorities", resp: `{"rules":[` + ruleJSON + `]}`,
				body: `{"rule_priorities":[{"rule":"web:443:a","priority":2},{"rule":"web:443:b","priority":1}]}`}},
			wantOut: []string{"web:443:chat"},
		},
		{
			name: "set-rule-priorities, aws style and JSON",
			args: []string{"set-rule-priorities", "--rule-priorities", "RuleArn=web:443:a,Priority=2", "Rule=web:443:b,Priority=1",
				"--rule-priorities", `[{"RuleArn":"web:443:c","Priority":3}]`},
			script: []exchange{{req: "POST /api/v1/rules/priorities", resp: `{"rules":[]}`,
				body: `{"rule_priorities":[{"rule":"web:443:a","priority":2},{"rule":"web:443:b","priority":1},{"rule":"web:443:c","priority":3}]}`}},
		},
		{
			name:   "describe-rules of a listener",
			args:   []string{"describe-rules", "--listener-arn", "web:443"},
			script: []exchange{{req: "GET /api/v1/rules?listener=web%3A443", resp: `{"rules":[` + ruleJSON + `]}`}},
		},
		{
			name:   "describe-rules by ID",
			args:   []string{"describe-rules", "--rule-arns", "web:443:chat"},
			script: []exchange{{req: "GET /api/v1/rules/web:443:chat", resp: ruleJSON}},
		},
		{
			name:   "delete-rule",
			args:   []string{"delete-rule", "--rule-arn", "web:443:chat"},
			script: []exchange{{req: "DELETE /api/v1/rules/web:443:chat", status: 204}},
		},
		{
			name: "create-target-group with health check",
			args: []string{"create-target-group", "--name", "app", "--protocol", "HTTP", "--port", "8080",
				"--protocol-version", "http2", "--health-check-path", "/health", "--health-check-interval-seconds", "10",
				"--health-check-timeout-seconds", "3", "--healthy-threshold-count", "3", "--unhealthy-threshold-count", "2",
				"--matcher", "HttpCode=200,404", "--health-check-protocol", "http", "--health-check-port", "9000",
				"--health-check-enabled", "true"},
			script: []exchange{{req: "POST /api/v1/target_groups", status: 201, resp: tgJSON,
				body: `{"name":"app","protocol":"HTTP","port":8080,"protocol_version":"HTTP2",
				"health_check":{"path":"/health","interval":"10s","timeout":"3s","healthy_threshold":3,"unhealthy_threshold":2,
				"matcher":"200,404","protocol":"HTTP","port":"9000","enabled":true}}`}},
			wantOut: []string{"app", "HTTP /health", "2", "web"},
		},
		{
			name: "modify-target-group",
			args: []string{"modify-target-group", "--target-group-arn", "app", "--health-check-enabled", "false", "--matcher", "200-299"},
			script: []exchange{{req: "PATCH /api/v1/target_groups/app", resp: tgJSON,
				body: `{"health_check":{"enabled":false,"matcher":"200-299"}}`}},
		},
		{
			name:   "describe-target-groups by name",
			args:   []string{"describe-target-groups", "--names", "app"},
			script: []exchange{{req: "GET /api/v1/target_groups/app", resp: tgJSON}},
		},
		{
			name:   "describe-target-groups",
			args:   []string{"describe-target-groups"},
			script: []exchange{{req: "GET /api/v1/target_groups", resp: `{"target_groups":[` + tgJSON + `]}`}},
		},
		{
			name:    "delete-target-group",
			args:    []string{"delete-target-group", "--target-group-arn", "app"},
			script:  []exchange{{req: "DELETE /api/v1/target_groups/app", status: 204}},
			wantOut: []string{"deleted target group app"},
		},
		{
			name: "modify-target-group-attributes with every aws key",
			args: []string{"modify-target-group-attributes", "--target-group-arn", "app", "--attributes",
				"Key=deregistration_delay.timeout_seconds,Value=30", "Key=slow_start.duration_seconds,Value=60",
				"Key=load_balancing.algorithm.type,Value=least_outstanding_requests",
				"Key=stickiness.enabled,Value=true", "Key=stickiness.type,Value=app_cookie",
				"Key=stickiness.lb_cookie.duration_seconds,Value=86400",
				"Key=stickiness.app_cookie.cookie_name,Value=SESSION",
				"Key=stickiness.app_cookie.duration_seconds,Value=3600",
				"Key=target_group_health.unhealthy_state_routing.minimum_healthy_targets.count,Value=2",
				"Key=target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage,Value=off"},
			script: []exchange{{req: "PATCH /api/v1/target_groups/app/attributes", resp: `{"deregistration_delay":"30s","stickiness":{"enabled":true}}`,
				body: `{"deregistration_delay":"30s","slow_start":"60s","load_balancing_algorithm":"least_outstanding_requests",
				"stickiness":{"enabled":true,"type":"app_cookie","duration":"3600s","cookie_name":"SESSION"},
				"target_group_health":{"unhealthy_state_routing":{"minimum_healthy_targets_count":2,"minimum_healthy_targets_percentage":0}}}`}},
			wantOut: []string{"deregistration_delay", "stickiness.enabled"},
		},
		{
			name: "modify-target-group-attributes lb_cookie duration wins for lb_cookie",
			args: []string{"modify-target-group-attributes", "--target-group", "app", "--attributes",
				"Key=stickiness.app_cookie.duration_seconds,Value=3600 Key=stickiness.lb_cookie.duration_seconds,Value=600 Key=stickiness.type,Value=lb_cookie"},
			script: []exchange{{req: "PATCH /api/v1/target_groups/app/attributes", resp: `{}`,
				body: `{"stickiness":{"type":"lb_cookie","duration":"600s"}}`}},
		},
		{
			name: "modify-target-group-attributes percentage and config keys",
			args: []string{"modify-target-group-attributes", "--target-group", "app", "--attributes",
				"Key=target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage,Value=50",
				"--attributes", "deregistration_delay=2m,slow_start=45"},
			script: []exchange{{req: "PATCH /api/v1/target_groups/app/attributes", resp: `{}`,
				body: `{"deregistration_delay":"2m","slow_start":"45s",
				"target_group_health":{"unhealthy_state_routing":{"minimum_healthy_targets_percentage":50}}}`}},
		},
		{
			name:   "describe-target-group-attributes",
			args:   []string{"describe-target-group-attributes", "--target-group-arn", "app"},
			script: []exchange{{req: "GET /api/v1/target_groups/app/attributes", resp: `{"slow_start":"0s"}`}},
		},
		{
			name: "register-targets aws style",
			args: []string{"register-targets", "--target-group-arn", "app", "--targets", "Id=127.0.0.1,Port=8081", "Id=127.0.0.2"},
			script: []exchange{{req: "POST /api/v1/target_groups/app/targets",
				resp: `{"targets":[{"id":"127.0.0.1","port":8081},{"id":"127.0.0.2","port":8080}]}`,
				body: `{"targets":[{"id":"127.0.0.1","port":8081},{"id":"127.0.0.2"}]}`}},
			wantOut: []string{"TARGET", "127.0.0.2  8080"},
		},
		{
			name: "register-targets spaces, repeated flags, host:port and JSON",
			args: []string{"register-targets", "--target-group", "app", "--targets", "Id=a,Port=1 Id=b,Port=2",
				"--targets", "10.0.0.9:80,10.0.0.10", "--targets", "[::1]:8080", "--targets", `[{"Id":"c","Port":3}]`},
			script: []exchange{{req: "POST /api/v1/target_groups/app/targets", resp: `{"targets":[]}`,
				body: `{"targets":[{"id":"a","port":1},{"id":"b","port":2},{"id":"10.0.0.9","port":80},{"id":"10.0.0.10"},
				{"id":"::1","port":8080},{"id":"c","port":3}]}`}},
		},
		{
			name: "deregister-targets",
			args: []string{"deregister-targets", "--target-group", "app", "--targets", "127.0.0.1:8081"},
			script: []exchange{{req: "POST /api/v1/target_groups/app/targets/deregister", resp: `{"targets":[]}`,
				body: `{"targets":[{"id":"127.0.0.1","port":8081}]}`}},
		},
		{
			name:    "describe-target-health",
			args:    []string{"describe-target-health", "--target-group-arn", "app"},
			script:  []exchange{{req: "GET /api/v1/target_groups/app/health", resp: healthJSON}},
			wantOut: []string{"STATE", "healthy", "Target.DeregistrationInProgress", "12s left, 3 open connections"},
		},
		{
			name:    "describe-target-health of given targets",
			args:    []string{"describe-target-health", "--target-group", "app", "--targets", "Id=127.0.0.1,Port=8082", "10.9.9.9:80"},
			script:  []exchange{{req: "GET /api/v1/target_groups/app/health", resp: healthJSON}},
			wantOut: []string{"8082", "10.9.9.9", "Target.NotRegistered"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeAPI(t, tt.script...)
			code, out, errb := runCLI(t, srv, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errb)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(tt.name, "given targets") && strings.Contains(out, "8081") {
				t.Errorf("the filter kept 8081:\n%s", out)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown target group attribute",
			[]string{"modify-target-group-attributes", "--target-group", "app", "--attributes", "Key=bogus,Value=1"},
			`unknown attribute key "bogus"; known keys: deregistration_delay.timeout_seconds, slow_start.duration_seconds`},
		{"unknown load balancer attribute",
			[]string{"modify-load-balancer-attributes", "--name", "web", "--attributes", "Key=deletion_protection.enabled,Value=true"},
			`known keys: idle_timeout.timeout_seconds`},
		{"attribute without value",
			[]string{"modify-load-balancer-attributes", "--name", "web", "--attributes", "Key=routing.http2.enabled"},
			"has no Value="},
		{"bad bool",
			[]string{"modify-load-balancer-attributes", "--name", "web", "--attributes", "Key=routing.http2.enabled,Value=yes"},
			"expected true or false"},
		{"bad seconds",
			[]string{"modify-target-group-attributes", "--target-group", "app", "--attributes", "Key=slow_start.duration_seconds,Value=30s"},
			"expected a whole number of seconds"},
		{"unclosed list",
			[]string{"create-rule", "--listener", "web:443", "--priority", "1", "--conditions", "Field=path-pattern,Values=[/a", "--actions", "Type=forward,TargetGroup=a"},
			`--conditions: "Field=path-pattern,Values=[/a": missing ']' at the end`},
		{"condition without field",
			[]string{"create-rule", "--listener", "web:443", "--priority", "1", "--conditions", "Values=/a", "--actions", "Type=forward,TargetGroup=a"},
			"Field= is missing"},
		{"unknown condition key",
			[]string{"create-rule", "--listener", "web:443", "--priority", "1", "--conditions", "Field=path-pattern,Values=/a,Colour=red", "--actions", "Type=forward,TargetGroup=a"},
			"unknown key Colour"},
		{"forward without group",
			[]string{"create-rule", "--listener", "web:443", "--priority", "1", "--conditions", "Field=path-pattern,Values=/a", "--actions", "Type=forward"},
			"forward needs TargetGroup=NAME"},
		{"not shorthand",
			[]string{"create-listener", "--load-balancer", "web", "--default-actions", "forward to app"},
			"expected Key=Value"},
		{"bad JSON",
			[]string{"create-listener", "--load-balancer", "web", "--default-actions", `[{"type":}]`},
			"invalid JSON"},
		{"missing required flag",
			[]string{"create-listener", "--load-balancer", "web", "--port", "80"},
			"--default-actions is required"},
		{"bad target port",
			[]string{"register-targets", "--target-group", "app", "--targets", "10.0.0.1:99999"},
			"the port must be 1–65535"},
		{"target without Id",
			[]string{"register-targets", "--target-group", "app", "--targets", "Port=80"},
			"Id= is missing"},
		{"describe-rules without a listener",
			[]string{"describe-rules"}, "give either --listener or --rule-arns"},
		{"nothing to change",
			[]string{"modify-listener", "--listener", "web:443"}, "nothing to change"},
		{"bad output",
			[]string{"describe-load-balancers", "-o", "yaml"}, `-o "yaml": use table or json`},
		{"stray argument",
			[]string{"describe-load-balancers", "extra", "--names", "a"}, `unexpected argument "extra"`},
		{"unknown flag",
			[]string{"delete-rule", "--rule", "web:443:a", "--force"}, "flag provided but not defined: -force"},
		{"matcher",
			[]string{"modify-target-group", "--name", "app", "--matcher", "Codes=200"}, "expected codes like 200,404"},
		{"cert name twice",
			[]string{"cert", "describe", "a", "b"}, "give one certificate name"},
		{"cert without name",
			[]string{"cert", "renew"}, "name the certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeAPI(t) // any request fails the test
			code, out, errb := runCLI(t, srv, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, errb)
			}
			if !strings.Contains(errb, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errb)
			}
			if out != "" {
				t.Errorf("stdout: %s", out)
			}
		})
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		resp   string
		code   int
		want   []string
	}{
		{"validation", 400,
			`{"error":{"code":"ValidationError","message":"the target group is not valid","fields":[{"field":"health_check.interval","value":"1s","message":"must be 5s–300s"}]}}`,
			exitInvalid, []string{"sluice: the target group is not valid\n  health_check.interval: must be 5s–300s\n"}},
		{"not found", 404, `{"error":{"code":"NotFound","message":"no load balancer \"web\""}}`,
			exitNotFound, []string{`sluice: no load balancer "web"`}},
		{"file managed", 409, `{"error":{"code":"FileManaged","message":"load balancer web is declared in /etc/sluice.yaml; edit that file"}}`,
			exitConflict, []string{"edit that file"}},
		{"precondition", 412, `{"error":{"code":"PreconditionFailed","message":"the resource changed since you read it"}}`,
			exitConflict, []string{"changed since"}},
		{"unauthorized", 401, `{"error":{"code":"Unauthorized","message":"missing or wrong bearer token"}}`,
			exitAuth, []string{"missing or wrong bearer token", "run `sluice admin token` as the user"}},
		{"forbidden", 403, `{"error":{"code":"Forbidden","message":"no"}}`, exitAuth, nil},
		{"too large", 413, `{"error":{"code":"ValidationError","message":"the request body is over 1048576 bytes"}}`, exitInvalid, nil},
		{"internal", 500, `{"error":{"code":"InternalError","message":"boom"}}`, exitFailed, []string{"sluice: boom"}},
		{"not JSON", 502, `Bad Gateway`, exitFailed, []string{"502 Bad Gateway: Bad Gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeAPI(t, exchange{req: "GET /api/v1/load_balancers/web", status: tt.status, resp: tt.resp})
			code, _, errb := runCLI(t, srv, "describe-load-balancers", "--names", "web")
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errb)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb)
				}
			}
		})
	}

	t.Run("unauthorized with the server's own hint", func(t *testing.T) {
		srv := newFakeAPI(t, exchange{req: "GET /api/v1/target_groups", status: 401,
			resp: `{"error":{"code":"Unauthorized","message":"wrong bearer token; ` + "`sluice admin token`" + ` prints it"}}`})
		code, _, errb := runCLI(t, srv, "describe-target-groups")
		if code != exitAuth || strings.Count(errb, "sluice admin token") != 1 {
			t.Errorf("exit %d, stderr:\n%s", code, errb)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		var out, errb bytes.Buffer
		code := Main([]string{"describe-target-groups", "--endpoint", url, "--token", "tok"}, &out, &errb)
		if code != exitUnreachable {
			t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUnreachable, errb.String())
		}
		want := "sluice: cannot reach the sluice admin API at " + url + ": is `sluice serve` running? ("
		if !strings.HasPrefix(errb.String(), want) {
			t.Errorf("stderr %q, want prefix %q", errb.String(), want)
		}
	})
}

func TestJSONOutput(t *testing.T) {
	list := `{"load_balancers":[` + lbJSON + `]}`
	for _, flag := range []string{"-o", "--output", "-output"} {
		t.Run(flag, func(t *testing.T) {
			srv := newFakeAPI(t, exchange{req: "GET /api/v1/load_balancers", resp: list})
			code, out, errb := runCLI(t, srv, "describe-load-balancers", flag, "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb)
			}
			if !jsonEqual([]byte(out), []byte(list)) {
				t.Errorf("stdout is not the API's answer:\n%s", out)
			}
			if !strings.Contains(out, "\n  \"load_balancers\": [\n") {
				t.Errorf("stdout is not indented:\n%s", out)
			}
		})
	}
	t.Run("several names make one list", func(t *testing.T) {
		srv := newFakeAPI(t,
			exchange{req: "GET /api/v1/target_groups/a", resp: `{"name":"a"}`},
			exchange{req: "GET /api/v1/target_groups/b", resp: `{"name":"b"}`})
		_, out, _ := runCLI(t, srv, "describe-target-groups", "--names", "a,b", "-o", "json")
		if !jsonEqual([]byte(out), []byte(`{"target_groups":[{"name":"a"},{"name":"b"}]}`)) {
			t.Errorf("stdout:\n%s", out)
		}
	})
	t.Run("delete prints nothing", func(t *testing.T) {
		srv := newFakeAPI(t, exchange{req: "DELETE /api/v1/rules/web:443:a", status: 204})
		code, out, _ := runCLI(t, srv, "delete-rule", "--rule", "web:443:a", "-o", "json")
		if code != 0 || out != "" {
			t.Errorf("exit %d, stdout %q", code, out)
		}
	})
}

func TestVerbHelp(t *testing.T) {
	all := map[string][]string{}
	for name := range apiCommands {
		all[name] = []string{name, "-h"}
	}
	for name := range certAPICommands {
		all["cert "+name] = []string{"cert", name, "-h"}
	}
	for name, args := range all {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := Main(args, &out, &errb); code != 0 {
				t.Fatalf("exit %d", code)
			}
			help := errb.String()
			for _, w := range []string{"Usage: sluice " + name, "Flags:", "Global flags:", "--endpoint", "--output, -o FORMAT", "Exit codes: 0 ok"} {
				if !strings.Contains(help, w) {
					t.Errorf("help lacks %q:\n%s", w, help)
				}
			}
			if !strings.Contains(apiUsage, "sluice "+name) && !strings.HasPrefix(name, "cert ") {
				t.Errorf("apiUsage does not list %s", name)
			}
		})
	}
	var out, errb bytes.Buffer
	Main([]string{"create-rule", "-h"}, &out, &errb)
	if !strings.Contains(errb.String(), "--listener, --listener-arn ID\n") {
		t.Errorf("aliases not shown together:\n%s", errb.String())
	}
}
