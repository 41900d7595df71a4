package metrics

import "github.com/prometheus/client_golang/prometheus"

// Label names. Every label value comes from configuration (load balancer,
// listener, target group and target names, certificate names, reload
// sources) or from a small fixed set, so cardinality is bounded by the
// configuration; nothing a client sends becomes a label.
const (
	lLB             = "load_balancer"
	lListener       = "listener"
	lGroup          = "target_group"
	lTarget         = "target"
	lOrigin         = "origin"
	lCodeClass      = "code_class"
	lCode           = "code"
	lDirection      = "direction"
	lClassification = "classification"
	lCertificate    = "certificate"
	lResult         = "result"
	lSource         = "source"
)

// Metric types as they appear in Names and in the exposition's TYPE lines.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
)

// family is one exported metric family.
type family struct {
	name, typ, help string
	labels          []string
	desc            *prometheus.Desc
}

// families lists every family the Registry exports, in declaration order;
// Describe sends them all.
var families []*family

func def(name, typ, help string, labels ...string) *family {
	f := &family{name: name, typ: typ, help: help, labels: labels,
		desc: prometheus.NewDesc(name, help, labels, nil)}
	families = append(families, f)
	return f
}

// Per listener (load_balancer, listener).
var (
	famRequests = def("sluice_requests_total", typeCounter,
		"RequestCount: requests received by the load balancer, whatever their outcome (CloudWatch RequestCount).",
		lLB, lListener)
	famResponses = def("sluice_http_responses_total", typeCounter,
		"HTTP responses by class; origin=\"elb\" for responses the load balancer generated itself "+
			"(CloudWatch HTTPCode_ELB_3XX_Count, HTTPCode_ELB_4XX_Count, HTTPCode_ELB_5XX_Count; "+
			"code_class=\"2xx\" counts fixed responses and has no CloudWatch counterpart), "+
			"origin=\"target\" for the final response of a target "+
			"(CloudWatch HTTPCode_Target_2XX_Count, HTTPCode_Target_3XX_Count, HTTPCode_Target_4XX_Count, HTTPCode_Target_5XX_Count).",
		lLB, lListener, lOrigin, lCodeClass)
	famELBCodes = def("sluice_elb_responses_total", typeCounter,
		"Error responses (4xx and 5xx) the load balancer generated, by exact code; code=\"other\" for codes outside ALB's documented set "+
			"(CloudWatch HTTPCode_ELB_500_Count, HTTPCode_ELB_502_Count, HTTPCode_ELB_503_Count, HTTPCode_ELB_504_Count, "+
			"and the other codes of the ALB access log reference).",
		lLB, lListener, lCode)
	famProcessedBytes = def("sluice_processed_bytes_total", typeCounter,
		"ProcessedBytes: bytes of requests (direction=\"received\") and responses (direction=\"sent\") "+
			"that crossed client connections, headers and bodies (CloudWatch ProcessedBytes).",
		lLB, lListener, lDirection)
	famRedirects = def("sluice_redirects_total", typeCounter,
		"HTTP_Redirect_Count: redirect actions that ran (CloudWatch HTTP_Redirect_Count).",
		lLB, lListener)
	famFixedResponses = def("sluice_fixed_responses_total", typeCounter,
		"HTTP_Fixed_Response_Count: fixed-response actions that ran (CloudWatch HTTP_Fixed_Response_Count).",
		lLB, lListener)
	famRuleEvaluations = def("sluice_rule_evaluations_total", typeCounter,
		"RuleEvaluations: listener rules whose conditions were evaluated (CloudWatch RuleEvaluations).",
		lLB, lListener)
	famDesync = def("sluice_desync_noncompliant_requests_total", typeCounter,
		"DesyncMitigationMode_NonCompliant_Request_Count: requests that do not comply with RFC 7230, "+
			"by desync classification Acceptable, Ambiguous or Severe (CloudWatch DesyncMitigationMode_NonCompliant_Request_Count).",
		lLB, lListener, lClassification)
	famNonSticky = def("sluice_non_sticky_requests_total", typeCounter,
		"NonStickyRequestCount: requests to a sticky target group whose stickiness cookie could not be used, "+
			"so a new target was chosen (CloudWatch NonStickyRequestCount).",
		lLB, lListener)
	famRequestDuration = def("sluice_request_duration_seconds", typeHistogram,
		"Time from the first byte of a request to the last byte of its response (sluice only; "+
			"CloudWatch has no counterpart, TargetResponseTime is the target's share).",
		lLB, lListener)
	famActiveConns = def("sluice_active_connections", typeGauge,
		"ActiveConnectionCount: client connections open to the load balancer (CloudWatch ActiveConnectionCount, "+
			"client side only).",
		lLB, lListener)
	famNewConns = def("sluice_new_connections_total", typeCounter,
		"NewConnectionCount: client connections accepted (CloudWatch NewConnectionCount).",
		lLB, lListener)
	famRejectedConns = def("sluice_rejected_connections_total", typeCounter,
		"RejectedConnectionCount: client connections refused because a connection limit was reached "+
			"(CloudWatch RejectedConnectionCount).",
		lLB, lListener)
	famClientTLSErrors = def("sluice_client_tls_negotiation_errors_total", typeCounter,
		"ClientTLSNegotiationErrorCount: client TLS handshakes that failed (CloudWatch ClientTLSNegotiationErrorCount).",
		lLB, lListener)
)

// Per target group (load_balancer, target_group).
var (
	famTargetResponses = def("sluice_target_http_responses_total", typeCounter,
		"HTTPCode_Target_nXX_Count per target group: final target responses by class "+
			"(CloudWatch HTTPCode_Target_2XX_Count, HTTPCode_Target_3XX_Count, HTTPCode_Target_4XX_Count, HTTPCode_Target_5XX_Count "+
			"with the TargetGroup dimension).",
		lLB, lGroup, lCodeClass)
	famTargetResponseTime = def("sluice_target_response_time_seconds", typeHistogram,
		"TargetResponseTime: time from sending a request to the target to receiving its response headers "+
			"(CloudWatch TargetResponseTime).",
		lLB, lGroup)
	famHealthy = def("sluice_healthy_targets", typeGauge,
		"HealthyHostCount: targets of the group considered healthy (CloudWatch HealthyHostCount).",
		lLB, lGroup)
	famUnhealthy = def("sluice_unhealthy_targets", typeGauge,
		"UnHealthyHostCount: targets of the group considered unhealthy (CloudWatch UnHealthyHostCount).",
		lLB, lGroup)
)

// Per target (load_balancer, target_group, target).
var (
	famTargetRequests = def("sluice_target_requests_total", typeCounter,
		"RequestCountPerTarget: requests sent to the target, retries included "+
			"(CloudWatch RequestCountPerTarget is this summed by target group and divided by its healthy targets).",
		lLB, lGroup, lTarget)
	famTargetConnErrors = def("sluice_target_connection_errors_total", typeCounter,
		"TargetConnectionErrorCount: connections to the target that could not be established (CloudWatch TargetConnectionErrorCount).",
		lLB, lGroup, lTarget)
	famTargetTLSErrors = def("sluice_target_tls_negotiation_errors_total", typeCounter,
		"TargetTLSNegotiationErrorCount: TLS handshakes with the target that failed (CloudWatch TargetTLSNegotiationErrorCount).",
		lLB, lGroup, lTarget)
)

// sluice's own.
var (
	famCertExpiry = def("sluice_certificate_expiry_timestamp_seconds", typeGauge,
		"Time the certificate expires, in seconds since the Unix epoch (sluice only; ACM's DaysToExpiry is the same information).",
		lCertificate)
	famACME = def("sluice_acme_issuance_total", typeCounter,
		"ACME certificate issuance and renewal attempts by result (sluice only).",
		lCertificate, lResult)
	famConfigReloads = def("sluice_config_reloads_total", typeCounter,
		"Configuration loads and reloads by source and result (sluice only).",
		lSource, lResult)
	famConfigLastSuccess = def("sluice_config_last_reload_success_timestamp_seconds", typeGauge,
		"Time of the last successful configuration load, in seconds since the Unix epoch; absent before the first (sluice only).")
	famAccessLogDropped = def("sluice_access_log_dropped_total", typeCounter,
		"Access log lines dropped because the log writer fell behind (sluice only).")
)

// Name maps an ALB CloudWatch metric, or one of sluice's own, to the
// Prometheus series that carry it.
type Name struct {
	// CloudWatch is the AWS/ApplicationELB metric name; empty for metrics
	// only sluice has.
	CloudWatch string
	// Prometheus is the metric family name; Type is counter, gauge or
	// histogram; Labels are the family's label names.
	Prometheus, Type string
	Labels           []string
	// Select holds the label matchers, PromQL style, that pick the
	// CloudWatch metric out of a family shared by several; empty when the
	// whole family is meant.
	Select string
}

func name(cloudWatch string, f *family, sel string) Name {
	return Name{CloudWatch: cloudWatch, Prometheus: f.name, Type: f.typ, Labels: f.labels, Select: sel}
}

// Names lists every exported metric with the CloudWatch metric it stands for,
// CloudWatch metrics first, for docs and tests. A CloudWatch metric with
// several dimension sets appears once per family that carries it
// (HTTPCode_Target_2XX_Count per listener and per target group); sluice's
// own metrics come last, with an empty CloudWatch. Callers must not modify
// it.
var Names = []Name{
	name("RequestCount", famRequests, ""),
	name("ActiveConnectionCount", famActiveConns, ""),
	name("NewConnectionCount", famNewConns, ""),
	name("RejectedConnectionCount", famRejectedConns, ""),
	name("ProcessedBytes", famProcessedBytes, ""),
	name("ClientTLSNegotiationErrorCount", famClientTLSErrors, ""),
	name("HTTPCode_ELB_3XX_Count", famResponses, `origin="elb",code_class="3xx"`),
	name("HTTPCode_ELB_4XX_Count", famResponses, `origin="elb",code_class="4xx"`),
	name("HTTPCode_ELB_5XX_Count", famResponses, `origin="elb",code_class="5xx"`),
	name("HTTPCode_ELB_500_Count", famELBCodes, `code="500"`),
	name("HTTPCode_ELB_502_Count", famELBCodes, `code="502"`),
	name("HTTPCode_ELB_503_Count", famELBCodes, `code="503"`),
	name("HTTPCode_ELB_504_Count", famELBCodes, `code="504"`),
	name("HTTP_Redirect_Count", famRedirects, ""),
	name("HTTP_Fixed_Response_Count", famFixedResponses, ""),
	name("RuleEvaluations", famRuleEvaluations, ""),
	name("DesyncMitigationMode_NonCompliant_Request_Count", famDesync, ""),
	name("NonStickyRequestCount", famNonSticky, ""),
	name("HTTPCode_Target_2XX_Count", famResponses, `origin="target",code_class="2xx"`),
	name("HTTPCode_Target_3XX_Count", famResponses, `origin="target",code_class="3xx"`),
	name("HTTPCode_Target_4XX_Count", famResponses, `origin="target",code_class="4xx"`),
	name("HTTPCode_Target_5XX_Count", famResponses, `origin="target",code_class="5xx"`),
	name("HTTPCode_Target_2XX_Count", famTargetResponses, `code_class="2xx"`),
	name("HTTPCode_Target_3XX_Count", famTargetResponses, `code_class="3xx"`),
	name("HTTPCode_Target_4XX_Count", famTargetResponses, `code_class="4xx"`),
	name("HTTPCode_Target_5XX_Count", famTargetResponses, `code_class="5xx"`),
	name("HealthyHostCount", famHealthy, ""),
	name("UnHealthyHostCount", famUnhealthy, ""),
	name("RequestCountPerTarget", famTargetRequests, ""),
	name("TargetConnectionErrorCount", famTargetConnErrors, ""),
	name("TargetResponseTime", famTargetResponseTime, ""),
	name("TargetTLSNegotiationErrorCount", famTargetTLSErrors, ""),
	name("", famRequestDuration, ""),
	name("", famELBCodes, `code!~"500|502|503|504"`),
	name("", famResponses, `origin="elb",code_class="2xx"`),
	name("", famCertExpiry, ""),
	name("", famACME, ""),
	name("", famConfigReloads, ""),
	name("", famConfigLastSuccess, ""),
	name("", famAccessLogDropped, ""),
}
