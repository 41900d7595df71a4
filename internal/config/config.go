// Package config defines sluice's versioned configuration schema, decodes it
// strictly from YAML, fills in ALB's defaults and validates it.
//
// The lifecycle is decode → defaults → validate; compiling into the routing
// tables the data plane reads is package snapshot's job. Every name in the
// schema is the AWS ELBv2 name in snake_case, so a user who knows the AWS
// console recognises each key.
package config

// Version is the only schema version this build understands.
const Version = 1

// Config is the whole configuration file.
type Config struct {
	// Version must be 1.
	Version int `yaml:"version"`
	// LoadBalancers lists the load balancers this process runs. Each one owns
	// its listeners; two listeners anywhere in the file may not share a port
	// on the same address.
	LoadBalancers []LoadBalancer `yaml:"load_balancers,omitempty"`
	// TargetGroups are shared by every load balancer in the file and are
	// referenced from forward actions by name.
	TargetGroups []TargetGroup `yaml:"target_groups,omitempty"`
	// Certificates are referenced from HTTPS listeners by name.
	Certificates []Certificate `yaml:"certificates,omitempty"`

	// path is the file the config came from; relative paths resolve
	// against its folder. Empty for configs built in memory.
	path string
	// pos locates every field written in the file, for error messages.
	// Nil for configs built in memory.
	pos positions
}

// Path reports the file the config was loaded from, or "" if none.
func (c *Config) Path() string { return c.path }

// LoadBalancer is one application load balancer: a set of listeners plus the
// attributes that apply to all of them.
type LoadBalancer struct {
	// Name identifies the load balancer in logs and metrics; 1–32
	// characters of [A-Za-z0-9-], not starting or ending with '-'.
	Name string `yaml:"name,omitempty"`
	// IdleTimeout closes a connection, client or target side, on which no
	// data moved for this long; it is also how long sluice waits for a
	// target's response headers. Zero means 60s; range 1s–4000s.
	IdleTimeout Duration `yaml:"idle_timeout,omitempty"`
	// ClientKeepAlive is the longest a client keep-alive connection is kept
	// open, after which it is closed once the response in flight is done.
	// Zero means 3600s; range 60s–604800s.
	ClientKeepAlive Duration `yaml:"client_keep_alive,omitempty"`
	// XFFHeaderProcessing is append (default), preserve or remove.
	XFFHeaderProcessing string `yaml:"xff_header_processing,omitempty"`
	// XFFClientPort appends the client's source port to the address added
	// to X-Forwarded-For (append mode only). Default false.
	XFFClientPort bool `yaml:"xff_client_port,omitempty"`
	// PreserveHostHeader sends the client's Host header unchanged. When
	// false (the default), as on ALB, the listener port is appended to a
	// Host header that has none when the listener port is not the
	// protocol's default.
	PreserveHostHeader bool `yaml:"preserve_host_header,omitempty"`
	// DropInvalidHeaderFields removes request headers whose names contain
	// characters outside [-A-Za-z0-9] instead of forwarding them. Default
	// false.
	DropInvalidHeaderFields bool `yaml:"drop_invalid_header_fields,omitempty"`
	// DesyncMitigationMode is monitor, defensive (default) or strictest.
	DesyncMitigationMode string `yaml:"desync_mitigation_mode,omitempty"`
	// HTTP2Enabled offers HTTP/2 to clients on HTTPS listeners. Nil means
	// true.
	HTTP2Enabled *bool `yaml:"http2_enabled,omitempty"`
	// XAmznTLSVersionAndCipherSuite adds X-Amzn-Tls-Version and
	// X-Amzn-Tls-Cipher-Suite to requests received on HTTPS listeners.
	// Default false.
	XAmznTLSVersionAndCipherSuite bool `yaml:"x_amzn_tls_version_and_cipher_suite,omitempty"`
	// AccessLogs writes a line per request, in ALB's format or as JSON.
	// Nil means no access log.
	AccessLogs *AccessLogs `yaml:"access_logs,omitempty"`
	// Listeners is the load balancer's listeners; at least one.
	Listeners []Listener `yaml:"listeners,omitempty"`
}

// Access log formats.
const (
	LogFormatALB  = "alb"
	LogFormatJSON = "json"
)

// AccessLogs configures a load balancer's access log. Lines are written
// asynchronously; when the writer falls behind, lines are dropped and
// counted (sluice_access_log_dropped_total) rather than slowing requests.
type AccessLogs struct {
	// Enabled defaults to true when the block is present.
	Enabled *bool `yaml:"enabled,omitempty"`
	// Path is the log file, or "-" for standard output. Required. Several
	// load balancers may share a file. SIGUSR1 reopens it (for logrotate).
	Path string `yaml:"path,omitempty"`
	// Format is alb (default: ALB's fields, order and quoting) or json.
	Format string `yaml:"format,omitempty"`
	// MaxSizeMB rotates the file when it would grow past this size
	// (PATH.1, PATH.2, ...); 0 (default) leaves rotation to logrotate;
	// 1–100000.
	MaxSizeMB int `yaml:"max_size_mb,omitempty"`
	// MaxBackups is how many rotated files are kept; default 5, 1–1000.
	MaxBackups int `yaml:"max_backups,omitempty"`
}

// On reports whether the access log is enabled.
func (a *AccessLogs) On() bool { return a != nil && (a.Enabled == nil || *a.Enabled) }

// Listener accepts connections on one port.
type Listener struct {
	// Protocol is HTTP or HTTPS.
	Protocol string `yaml:"protocol,omitempty"`
	// Port is 1–65535.
	Port int `yaml:"port,omitempty"`
	// Address is the local address to bind; empty means every address.
	Address string `yaml:"address,omitempty"`
	// Certificates names entries of the top-level certificates list; the
	// first is the default certificate served when no other matches the
	// client's SNI name. Required for HTTPS, refused for HTTP.
	Certificates []string `yaml:"certificates,omitempty"`
	// SSLPolicy names an AWS security policy. Empty means
	// ELBSecurityPolicy-TLS13-1-2-2021-06. HTTPS only.
	SSLPolicy string `yaml:"ssl_policy,omitempty"`
	// MutualAuthentication asks clients for certificates. Nil means mode
	// off. HTTPS only.
	MutualAuthentication *MutualAuthentication `yaml:"mutual_authentication,omitempty"`
	// Rules are evaluated by ascending priority; the first match wins.
	Rules []Rule `yaml:"rules,omitempty"`
	// DefaultActions run when no rule matches. Required.
	DefaultActions []Action `yaml:"default_actions,omitempty"`
}

// Rule is a set of conditions, all of which must match, and the actions to
// run when they do.
type Rule struct {
	// Name identifies the rule in the admin API and CLI (its ID there is
	// LB:PORT:NAME); 1–32 characters of [A-Za-z0-9-], unique within the
	// listener. Optional: a rule without one is addressed as
	// LB:PORT:priority-N.
	Name string `yaml:"name,omitempty"`
	// Priority is 1–50000 and unique within its listener.
	Priority int `yaml:"priority,omitempty"`
	// Conditions are ANDed; values inside one condition are ORed. At least
	// one condition.
	Conditions []Condition `yaml:"conditions,omitempty"`
	// Actions run in order; the list ends in exactly one forward, redirect
	// or fixed-response action.
	Actions []Action `yaml:"actions,omitempty"`
}

// Condition field names, as in the AWS API.
const (
	FieldHostHeader        = "host-header"
	FieldPathPattern       = "path-pattern"
	FieldHTTPHeader        = "http-header"
	FieldHTTPRequestMethod = "http-request-method"
	FieldQueryString       = "query-string"
	FieldSourceIP          = "source-ip"
)

// Condition is one rule condition.
type Condition struct {
	// Field is one of host-header, path-pattern, http-header,
	// http-request-method, query-string, source-ip.
	Field string `yaml:"field,omitempty"`
	// Values holds the patterns for host-header, path-pattern,
	// http-request-method and source-ip (CIDR blocks, or bare addresses).
	// 1–5 values of at most 128 characters each. (ALB counts 5 match
	// evaluations per rule; sluice enforces 5 values per condition.)
	Values []string `yaml:"values,omitempty"`
	// HTTPHeader holds the header name and value patterns for http-header.
	HTTPHeader *HTTPHeaderCondition `yaml:"http_header,omitempty"`
	// QueryString holds the key/value patterns for query-string.
	QueryString []KeyValue `yaml:"query_string,omitempty"`
}

// HTTPHeaderCondition matches one request header.
type HTTPHeaderCondition struct {
	// Name is the header name, matched case-insensitively; not Host.
	Name string `yaml:"name,omitempty"`
	// Values are case-insensitive patterns with * and ? wildcards.
	Values []string `yaml:"values,omitempty"`
}

// KeyValue is one query-string pattern. An empty Key matches any key.
type KeyValue struct {
	// Key is a pattern for the parameter name; optional.
	Key string `yaml:"key,omitempty"`
	// Value is a pattern for the parameter value; required ("*" matches
	// any value).
	Value string `yaml:"value,omitempty"`
}

// Action types, as in the AWS API.
const (
	ActionForward       = "forward"
	ActionRedirect      = "redirect"
	ActionFixedResponse = "fixed-response"
)

// Action is one step of a rule's or listener's action list.
type Action struct {
	// Type is forward, redirect or fixed-response.
	Type string `yaml:"type,omitempty"`
	// Order sorts actions within the list (1–50000); zero keeps the list
	// order. Set it on every action of a list or on none.
	Order int `yaml:"order,omitempty"`
	// TargetGroup is shorthand for a forward to one target group.
	// ApplyDefaults turns it into an equivalent Forward and leaves it set;
	// read Forward.
	TargetGroup string `yaml:"target_group,omitempty"`
	// Forward forwards to one or more weighted target groups.
	Forward *ForwardConfig `yaml:"forward,omitempty"`
	// Redirect answers with a redirect.
	Redirect *RedirectConfig `yaml:"redirect,omitempty"`
	// FixedResponse answers with a fixed status and body.
	FixedResponse *FixedResponseConfig `yaml:"fixed_response,omitempty"`
}

// ForwardConfig spreads requests over up to five target groups by weight.
type ForwardConfig struct {
	// TargetGroups lists 1–5 groups with weights 0–999.
	TargetGroups []WeightedTargetGroup `yaml:"target_groups,omitempty"`
	// Stickiness pins a client to the group first chosen for it.
	Stickiness *GroupStickiness `yaml:"stickiness,omitempty"`
}

// WeightedTargetGroup is one entry of a weighted forward.
type WeightedTargetGroup struct {
	// Name names a target group.
	Name string `yaml:"name,omitempty"`
	// Weight is 0–999. Nil means 1.
	Weight *int `yaml:"weight,omitempty"`
}

// GroupStickiness is target-group-level stickiness of a weighted forward.
type GroupStickiness struct {
	// Enabled turns group stickiness on. Default false.
	Enabled bool `yaml:"enabled,omitempty"`
	// Duration is 1s–7d; zero means 1h.
	Duration Duration `yaml:"duration,omitempty"`
}

// RedirectConfig builds the Location of a redirect. Each part may use the
// placeholders #{protocol}, #{host}, #{port}, #{path} (without its leading
// slash) and #{query} (without '?').
type RedirectConfig struct {
	// Protocol is HTTP, HTTPS or #{protocol} (the default).
	Protocol string `yaml:"protocol,omitempty"`
	// Host defaults to #{host}.
	Host string `yaml:"host,omitempty"`
	// Port is 1–65535 or #{port} (the default).
	Port string `yaml:"port,omitempty"`
	// Path starts with '/'; it defaults to /#{path}.
	Path string `yaml:"path,omitempty"`
	// Query has no leading '?'; it defaults to #{query}.
	Query *string `yaml:"query,omitempty"`
	// StatusCode is HTTP_301 or HTTP_302. Required.
	StatusCode string `yaml:"status_code,omitempty"`
}

// FixedResponseConfig is a response sluice writes itself.
type FixedResponseConfig struct {
	// StatusCode is a 2XX, 4XX or 5XX code as a string. Required.
	StatusCode string `yaml:"status_code,omitempty"`
	// ContentType is text/plain (default), text/css, text/html,
	// application/javascript or application/json.
	ContentType string `yaml:"content_type,omitempty"`
	// MessageBody is at most 1024 characters.
	MessageBody string `yaml:"message_body,omitempty"`
}

// TargetGroup is a set of targets with one protocol, health check and
// balancing policy.
type TargetGroup struct {
	// Name is 1–32 characters of [A-Za-z0-9-], unique.
	Name string `yaml:"name,omitempty"`
	// Protocol is HTTP or HTTPS (target certificates are not verified, as
	// on ALB).
	Protocol string `yaml:"protocol,omitempty"`
	// ProtocolVersion is HTTP1 (default), HTTP2 or GRPC.
	ProtocolVersion string `yaml:"protocol_version,omitempty"`
	// Port is the targets' port unless a target overrides it; 1–65535.
	Port int `yaml:"port,omitempty"`
	// Targets are the registered targets.
	Targets []Target `yaml:"targets,omitempty"`
	// HealthCheck configures active health checks. Nil means all defaults.
	HealthCheck *HealthCheck `yaml:"health_check,omitempty"`
	// Attributes holds the group's attributes.
	Attributes TargetGroupAttributes `yaml:"attributes,omitempty"`
}

// Target is one registered target.
type Target struct {
	// ID is an IP address or a DNS host name. Two targets of a group may
	// not share ID and port.
	ID string `yaml:"id,omitempty"`
	// Port overrides the group's port when non-zero.
	Port int `yaml:"port,omitempty"`
}

// HealthCheck holds a target group's active health check settings.
type HealthCheck struct {
	// Enabled defaults to true. Targets of a group with health checks
	// disabled are in state unavailable and receive traffic.
	Enabled *bool `yaml:"enabled,omitempty"`
	// Protocol is HTTP or HTTPS; default the target group's protocol.
	Protocol string `yaml:"protocol,omitempty"`
	// Port is "traffic-port" (the default) or 1–65535.
	Port string `yaml:"port,omitempty"`
	// Path defaults to "/" (for GRPC groups, "/AWS.ALB/healthcheck").
	Path string `yaml:"path,omitempty"`
	// Interval is 5s–300s; default 30s.
	Interval Duration `yaml:"interval,omitempty"`
	// Timeout is 2s–120s and less than Interval; default 5s.
	Timeout Duration `yaml:"timeout,omitempty"`
	// HealthyThreshold is 2–10; default 5.
	HealthyThreshold int `yaml:"healthy_threshold,omitempty"`
	// UnhealthyThreshold is 2–10; default 2.
	UnhealthyThreshold int `yaml:"unhealthy_threshold,omitempty"`
	// Matcher lists the good status codes: "200", "200,404", "200-299".
	// Default "200" ("12" for GRPC groups, as gRPC status codes).
	Matcher string `yaml:"matcher,omitempty"`
}

// TargetGroupAttributes are a target group's tunable attributes.
type TargetGroupAttributes struct {
	// DeregistrationDelay is how long a removed target drains; 0–3600s.
	// Nil means 300s.
	DeregistrationDelay *Duration `yaml:"deregistration_delay,omitempty"`
	// SlowStart ramps a newly healthy target's share up linearly over this
	// duration; 0 (off, the default) or 30s–900s.
	SlowStart Duration `yaml:"slow_start,omitempty"`
	// LoadBalancingAlgorithm is round_robin (default),
	// least_outstanding_requests or weighted_random.
	LoadBalancingAlgorithm string `yaml:"load_balancing_algorithm,omitempty"`
	// Stickiness binds a client to a target.
	Stickiness *Stickiness `yaml:"stickiness,omitempty"`
	// TargetGroupHealth decides when the group fails open.
	TargetGroupHealth *TargetGroupHealth `yaml:"target_group_health,omitempty"`
}

// Stickiness kinds.
const (
	StickinessLBCookie  = "lb_cookie"
	StickinessAppCookie = "app_cookie"
)

// Stickiness binds a client to the target that served it first.
type Stickiness struct {
	// Enabled turns stickiness on. Default false.
	Enabled bool `yaml:"enabled,omitempty"`
	// Type is lb_cookie (default) or app_cookie.
	Type string `yaml:"type,omitempty"`
	// Duration is 1s–7d; zero means 1d.
	Duration Duration `yaml:"duration,omitempty"`
	// CookieName is the application's cookie for app_cookie; required
	// there, refused otherwise. It may not start with AWSALB.
	CookieName string `yaml:"cookie_name,omitempty"`
}

// TargetGroupHealth holds the fail-open thresholds. Nil means the
// defaults; ApplyDefaults fills it in.
type TargetGroupHealth struct {
	// UnhealthyStateRouting decides when the group fails open.
	UnhealthyStateRouting UnhealthyStateRouting `yaml:"unhealthy_state_routing,omitempty"`
}

// UnhealthyStateRouting holds minimums: when fewer targets than these are
// healthy, the group fails open and routes to every registered target.
type UnhealthyStateRouting struct {
	// MinimumHealthyTargetsCount is 1 (default) or more.
	MinimumHealthyTargetsCount int `yaml:"minimum_healthy_targets_count,omitempty"`
	// MinimumHealthyTargetsPercentage is 0 (off, the default) to 100.
	MinimumHealthyTargetsPercentage int `yaml:"minimum_healthy_targets_percentage,omitempty"`
}
