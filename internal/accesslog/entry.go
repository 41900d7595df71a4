// Package accesslog writes access logs in ALB's format or as JSON,
// asynchronously: a full buffer drops lines and counts them rather than
// slowing requests.
package accesslog

import (
	"net/netip"
	"time"
)

// Entry is one request as the load balancer handled it: the fields of an
// ALB access log line, and what the metrics count. The data plane fills one
// per request (or per WebSocket/upgrade, at its end) and hands it to an
// observer; it is not kept afterwards.
type Entry struct {
	// Type is http, https, h2, ws, wss or grpcs.
	Type string
	// Time is when the response was completely sent (or the connection
	// ended).
	Time time.Time
	// RequestCreationTime is when the first byte of the request arrived.
	RequestCreationTime time.Time
	// LoadBalancer is the load balancer's name; Listener its listener's ID
	// (LB:PORT).
	LoadBalancer, Listener string
	Client                 netip.AddrPort
	// Target is the target's host:port; empty when none was chosen.
	Target string
	// TargetGroup is the chosen target group's name; empty when none.
	TargetGroup string
	// RequestProcessingTime: from receiving the request to sending it to
	// the target; TargetProcessingTime: from sending it to the target to
	// the target's response headers; ResponseProcessingTime: from those to
	// the end of the response. Negative (logged −1) when the request was
	// not dispatched to a target or the target closed before answering.
	RequestProcessingTime, TargetProcessingTime, ResponseProcessingTime time.Duration
	// ELBStatus is the status sent to the client; 0 when none was sent
	// (logged "-"). TargetStatus is the target's status; 0 when there was
	// no target response.
	ELBStatus, TargetStatus int
	// ReceivedBytes and SentBytes count the request and response as they
	// crossed the client connection (headers and bodies).
	ReceivedBytes, SentBytes int64
	// Method, URL (scheme://host:port/path?query, as ALB logs it) and
	// Proto (HTTP/1.1, HTTP/2.0) make the "request" field.
	Method, URL, Proto string
	UserAgent          string
	// SSLCipher (OpenSSL name) and SSLProtocol (TLSv1.2, TLSv1.3); empty
	// for plain HTTP.
	SSLCipher, SSLProtocol string
	// TraceID is the X-Amzn-Trace-Id sent to the target.
	TraceID string
	// DomainName is the SNI name the client sent; ChosenCert the name of
	// the certificate served. Empty for plain HTTP.
	DomainName, ChosenCert string
	// MatchedRulePriority is the rule's priority, 0 for the default
	// actions, -1 when no rule was evaluated (logged "-").
	MatchedRulePriority int
	// ActionsExecuted lists what ran: forward, redirect, fixed-response.
	ActionsExecuted []string
	// RedirectURL is the Location of a redirect action.
	RedirectURL string
	// ErrorReason is ALB's error reason code, e.g. TargetConnectionError,
	// TargetResponseTimeout; empty when none.
	ErrorReason string
	// TargetList and TargetStatusList list every target tried and its
	// status code ("-" when it did not answer), for requests retried on
	// another target; nil means just Target and TargetStatus.
	TargetList, TargetStatusList []string
	// Classification is Compliant, Acceptable, Ambiguous or Severe, and
	// ClassificationReason its ALB reason code; empty when compliant.
	Classification, ClassificationReason string
	// RulesEvaluated counts the rules whose conditions were evaluated
	// (RuleEvaluations); NonSticky marks a request to a group with
	// stickiness whose cookie could not be used (NonStickyRequestCount).
	RulesEvaluated int
	NonSticky      bool
}
