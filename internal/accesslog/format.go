package accesslog

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// The fields of a line, in ALB's order. ALB adds new fields only at the end,
// so readers must ignore trailing fields they do not know.
const (
	fType = iota
	fTime
	fELB
	fClient
	fTarget
	fRequestProcessingTime
	fTargetProcessingTime
	fResponseProcessingTime
	fELBStatus
	fTargetStatus
	fReceivedBytes
	fSentBytes
	fRequest
	fUserAgent
	fSSLCipher
	fSSLProtocol
	fTargetGroup
	fTraceID
	fDomainName
	fChosenCert
	fMatchedRulePriority
	fRequestCreationTime
	fActionsExecuted
	fRedirectURL
	fErrorReason
	fTargetList
	fTargetStatusList
	fClassification
	fClassificationReason
	fConnTraceID
	fTransformedHost
	fTransformedURI
	fRequestTransformStatus
	numFields
)

// fieldTable holds each field's ALB name, its JSON key (the ALB name with ':'
// replaced by '_', as Athena tables name them) and whether ALB encloses it in
// double quotes.
var fieldTable = [numFields]struct {
	name, key string
	quoted    bool
}{
	fType:                   {"type", "type", false},
	fTime:                   {"time", "time", false},
	fELB:                    {"elb", "elb", false},
	fClient:                 {"client:port", "client_port", false},
	fTarget:                 {"target:port", "target_port", false},
	fRequestProcessingTime:  {"request_processing_time", "request_processing_time", false},
	fTargetProcessingTime:   {"target_processing_time", "target_processing_time", false},
	fResponseProcessingTime: {"response_processing_time", "response_processing_time", false},
	fELBStatus:              {"elb_status_code", "elb_status_code", false},
	fTargetStatus:           {"target_status_code", "target_status_code", false},
	fReceivedBytes:          {"received_bytes", "received_bytes", false},
	fSentBytes:              {"sent_bytes", "sent_bytes", false},
	fRequest:                {"request", "request", true},
	fUserAgent:              {"user_agent", "user_agent", true},
	fSSLCipher:              {"ssl_cipher", "ssl_cipher", false},
	fSSLProtocol:            {"ssl_protocol", "ssl_protocol", false},
	fTargetGroup:            {"target_group_arn", "target_group_arn", false},
	fTraceID:                {"trace_id", "trace_id", true},
	fDomainName:             {"domain_name", "domain_name", true},
	fChosenCert:             {"chosen_cert_arn", "chosen_cert_arn", true},
	fMatchedRulePriority:    {"matched_rule_priority", "matched_rule_priority", false},
	fRequestCreationTime:    {"request_creation_time", "request_creation_time", false},
	fActionsExecuted:        {"actions_executed", "actions_executed", true},
	fRedirectURL:            {"redirect_url", "redirect_url", true},
	fErrorReason:            {"error_reason", "error_reason", true},
	fTargetList:             {"target:port_list", "target_port_list", true},
	fTargetStatusList:       {"target_status_code_list", "target_status_code_list", true},
	fClassification:         {"classification", "classification", true},
	fClassificationReason:   {"classification_reason", "classification_reason", true},
	fConnTraceID:            {"conn_trace_id", "conn_trace_id", false},
	fTransformedHost:        {"transformed_host", "transformed_host", true},
	fTransformedURI:         {"transformed_uri", "transformed_uri", true},
	fRequestTransformStatus: {"request_transform_status", "request_transform_status", true},
}

// ALBFields names the fields of an ALB access log line, in order, as AWS's
// documentation names them; ParseALB returns a map with these keys. AppendJSON
// uses the same names with ':' replaced by '_' (client_port, target_port,
// target_port_list). Changing the slice changes nothing else in the package.
var ALBFields = func() []string {
	names := make([]string, numFields)
	for i, f := range fieldTable {
		names[i] = f.name
	}
	return names
}()

// timeLayout is ISO 8601 in UTC with microseconds, as ALB writes its times.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// AppendALB appends e to dst as one line of ALB's access log format, ending
// in '\n', and returns the extended buffer.
//
// Missing values are "-"; durations are seconds with millisecond precision,
// or -1 when negative; times are UTC with microseconds. Inside quoted fields
// '"', '\', control characters and every byte outside printable ASCII are
// written as \xHH, as ALB does; unquoted fields escape spaces the same way,
// so a line always splits back into its fields (see ParseALB). The load
// balancer, target group and certificate are logged by name where ALB logs
// ARNs. conn_trace_id, transformed_host, transformed_uri and
// request_transform_status are always "-": sluice has no connection IDs or
// rule transforms.
func AppendALB(dst []byte, e *Entry) []byte {
	return append(appendEntry(dst, e, enc{}), '\n')
}

// AppendJSON appends e to dst as one JSON object on one line, ending in '\n',
// and returns the extended buffer. Its keys are ALBFields with ':' replaced
// by '_', in the same order, and every value is the string ALB's format
// holds for that field ("-" included) before ALB's \xHH escaping: text is
// UTF-8, with invalid bytes replaced by U+FFFD.
func AppendJSON(dst []byte, e *Entry) []byte {
	return append(appendEntry(dst, e, enc{json: true}), '\n')
}

func appendEntry(dst []byte, e *Entry, x enc) []byte {
	dst = x.str(dst, fType, e.Type)
	dst = x.time(dst, fTime, e.Time)
	dst = x.str(dst, fELB, e.LoadBalancer)
	dst = x.addrPort(dst, fClient, e.Client)
	dst = x.str(dst, fTarget, e.Target)
	dst = x.seconds(dst, fRequestProcessingTime, e.RequestProcessingTime)
	dst = x.seconds(dst, fTargetProcessingTime, e.TargetProcessingTime)
	dst = x.seconds(dst, fResponseProcessingTime, e.ResponseProcessingTime)
	dst = x.status(dst, fELBStatus, e.ELBStatus)
	dst = x.status(dst, fTargetStatus, e.TargetStatus)
	dst = x.int(dst, fReceivedBytes, e.ReceivedBytes)
	dst = x.int(dst, fSentBytes, e.SentBytes)

	// "request" is "METHOD URL PROTO"; ALB writes "- - -" for a request it
	// could not parse.
	dst = x.begin(dst, fRequest)
	dst = x.textOrDash(dst, fRequest, e.Method)
	dst = append(dst, ' ')
	dst = x.textOrDash(dst, fRequest, e.URL)
	dst = append(dst, ' ')
	dst = x.textOrDash(dst, fRequest, e.Proto)
	dst = x.end(dst, fRequest)

	dst = x.str(dst, fUserAgent, e.UserAgent)
	dst = x.str(dst, fSSLCipher, e.SSLCipher)
	dst = x.str(dst, fSSLProtocol, e.SSLProtocol)
	dst = x.str(dst, fTargetGroup, e.TargetGroup)
	dst = x.str(dst, fTraceID, e.TraceID)
	dst = x.str(dst, fDomainName, e.DomainName)
	dst = x.str(dst, fChosenCert, e.ChosenCert)
	if e.MatchedRulePriority < 0 {
		dst = x.str(dst, fMatchedRulePriority, "")
	} else {
		dst = x.int(dst, fMatchedRulePriority, int64(e.MatchedRulePriority))
	}
	dst = x.time(dst, fRequestCreationTime, e.RequestCreationTime)
	dst = x.list(dst, fActionsExecuted, e.ActionsExecuted, ',')
	dst = x.str(dst, fRedirectURL, e.RedirectURL)
	dst = x.str(dst, fErrorReason, e.ErrorReason)
	if e.TargetList != nil {
		dst = x.list(dst, fTargetList, e.TargetList, ' ')
	} else {
		dst = x.str(dst, fTargetList, e.Target)
	}
	if e.TargetStatusList != nil {
		dst = x.list(dst, fTargetStatusList, e.TargetStatusList, ' ')
	} else {
		dst = x.status(dst, fTargetStatusList, e.TargetStatus)
	}
	dst = x.str(dst, fClassification, e.Classification)
	dst = x.str(dst, fClassificationReason, e.ClassificationReason)
	dst = x.str(dst, fConnTraceID, "")
	dst = x.str(dst, fTransformedHost, "")
	dst = x.str(dst, fTransformedURI, "")
	dst = x.str(dst, fRequestTransformStatus, "")
	return dst
}

// enc writes fields either in ALB's format or as members of a JSON object.
// Both share appendEntry, so the two formats cannot disagree on a value.
type enc struct{ json bool }

// begin writes what precedes field f's value.
func (x enc) begin(dst []byte, f int) []byte {
	if x.json {
		if f == 0 {
			dst = append(dst, `{"`...)
		} else {
			dst = append(dst, `,"`...)
		}
		dst = append(dst, fieldTable[f].key...)
		return append(dst, `":"`...)
	}
	if f > 0 {
		dst = append(dst, ' ')
	}
	if fieldTable[f].quoted {
		dst = append(dst, '"')
	}
	return dst
}

// end writes what follows field f's value.
func (x enc) end(dst []byte, f int) []byte {
	if x.json {
		dst = append(dst, '"')
		if f == numFields-1 {
			dst = append(dst, '}')
		}
		return dst
	}
	if fieldTable[f].quoted {
		dst = append(dst, '"')
	}
	return dst
}

// text writes s, escaped for field f.
func (x enc) text(dst []byte, f int, s string) []byte {
	if x.json {
		return appendJSONText(dst, s)
	}
	if fieldTable[f].quoted {
		return appendEscaped(dst, s, &safeQuoted)
	}
	return appendEscaped(dst, s, &safeUnquoted)
}

func (x enc) textOrDash(dst []byte, f int, s string) []byte {
	if s == "" {
		return append(dst, '-')
	}
	return x.text(dst, f, s)
}

// str writes field f holding s, or "-" when s is empty.
func (x enc) str(dst []byte, f int, s string) []byte {
	dst = x.begin(dst, f)
	dst = x.textOrDash(dst, f, s)
	return x.end(dst, f)
}

func (x enc) list(dst []byte, f int, items []string, sep byte) []byte {
	dst = x.begin(dst, f)
	if len(items) == 0 {
		dst = append(dst, '-')
	}
	for i, s := range items {
		if i > 0 {
			dst = append(dst, sep)
		}
		dst = x.textOrDash(dst, f, s)
	}
	return x.end(dst, f)
}

func (x enc) int(dst []byte, f int, n int64) []byte {
	dst = x.begin(dst, f)
	dst = strconv.AppendInt(dst, n, 10)
	return x.end(dst, f)
}

// status writes an HTTP status code; 0 (none) is "-".
func (x enc) status(dst []byte, f int, code int) []byte {
	if code <= 0 {
		return x.str(dst, f, "")
	}
	return x.int(dst, f, int64(code))
}

// seconds writes d in seconds rounded to the millisecond ("0.001"), or -1
// when d is negative.
func (x enc) seconds(dst []byte, f int, d time.Duration) []byte {
	dst = x.begin(dst, f)
	if d < 0 {
		dst = append(dst, "-1"...)
	} else {
		ms := (int64(d/time.Microsecond) + 500) / 1000
		dst = strconv.AppendInt(dst, ms/1000, 10)
		r := ms % 1000
		dst = append(dst, '.', byte('0'+r/100), byte('0'+r/10%10), byte('0'+r%10))
	}
	return x.end(dst, f)
}

// time writes t in UTC with microseconds; the zero time is "-".
func (x enc) time(dst []byte, f int, t time.Time) []byte {
	if t.IsZero() {
		return x.str(dst, f, "")
	}
	dst = x.begin(dst, f)
	dst = appendTimestamp(dst, t)
	return x.end(dst, f)
}

// appendTimestamp writes t as timeLayout does, several times faster than
// time.Time.AppendFormat.
func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, timeLayout)
	}
	hour, min, sec := t.Clock()
	us := t.Nanosecond() / 1000
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z')
	return dst
}

// addrPort writes ap as IP:port (IPv6 in brackets, IPv4-mapped addresses as
// IPv4); the zero AddrPort is "-".
func (x enc) addrPort(dst []byte, f int, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return x.str(dst, f, "")
	}
	dst = x.begin(dst, f)
	dst = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).AppendTo(dst)
	return x.end(dst, f)
}

// safeQuoted and safeUnquoted mark the bytes written as they are inside and
// outside double quotes; every other byte is written as \xHH.
var safeQuoted, safeUnquoted = func() (q, u [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		q[c] = c != '"' && c != '\\'
		u[c] = q[c] && c != ' '
	}
	return q, u
}()

const hexDigits = "0123456789ABCDEF"

func appendEscaped(dst []byte, s string, safe *[256]bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendJSONText writes s as the inside of a JSON string: valid UTF-8
// passes through, invalid bytes become U+FFFD, and what JSON (or a
// JavaScript reader) cannot take literally is escaped.
func appendJSONText(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}
