// Package lberr names every failure that the load balancer answers itself,
// rather than a target, and maps each one to ALB's status code. It is the one
// place that decides such a status: the engines and the proxy call Status and
// never invent a code.
package lberr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// Failure is a failure with a fixed status and a reason for the access log.
type Failure struct {
	Code   int
	Reason string
	Msg    string
}

func (f *Failure) Error() string { return f.Msg }

// Failures the load balancer detects itself.
var (
	ErrMalformed          = &Failure{http.StatusBadRequest, "MalformedRequest", "malformed request"}
	ErrHeaderTooLarge     = &Failure{http.StatusBadRequest, "RequestHeaderTooLarge", "request header too large"}
	ErrDesync             = &Failure{http.StatusBadRequest, "DesyncMitigation", "request refused by desync mitigation"}
	ErrRequestTimeout     = &Failure{http.StatusRequestTimeout, "RequestTimeout", "client sent no complete request within the idle timeout"}
	ErrMethodNotAllowed   = &Failure{http.StatusMethodNotAllowed, "MethodNotAllowed", "method not allowed"}
	ErrURITooLong         = &Failure{http.StatusRequestURITooLong, "URITooLong", "request URI too long"}
	ErrTooManyXFF         = &Failure{463, "TooManyForwardedFor", "too many addresses in X-Forwarded-For"}
	ErrProtocolMismatch   = &Failure{464, "ProtocolVersionMismatch", "request protocol does not match the target group's protocol version"}
	ErrUnsupportedTE      = &Failure{http.StatusNotImplemented, "UnsupportedTransferEncoding", "unsupported transfer encoding"}
	ErrNoTargets          = &Failure{http.StatusServiceUnavailable, "NoRegisteredTargets", "no registered targets"}
	ErrVersion            = &Failure{http.StatusHTTPVersionNotSupported, "UnsupportedHTTPVersion", "HTTP version not supported"}
	ErrClientClosed       = &Failure{460, "ClientClosed", "client closed the connection before the response"}
	ErrTargetConnect      = &Failure{http.StatusBadGateway, "TargetConnectionError", "could not connect to target"}
	ErrTargetConnTimeout  = &Failure{http.StatusGatewayTimeout, "TargetConnectTimeout", "timed out connecting to target"}
	ErrTargetTimeout      = &Failure{http.StatusGatewayTimeout, "TargetResponseTimeout", "target did not respond within the idle timeout"}
	ErrTargetTLS          = &Failure{http.StatusBadGateway, "TargetTLSNegotiationError", "TLS handshake with target failed"}
	ErrTargetResponse     = &Failure{http.StatusBadGateway, "TargetResponseError", "target closed the connection or sent a malformed response"}
	ErrInternal           = &Failure{http.StatusInternalServerError, "InternalError", "internal error"}
	ErrClientTLSHandshake = &Failure{0, "ClientTLSNegotiationError", "TLS handshake with client failed"}
	// ErrClientCertificate answers a request on a connection whose client
	// certificate no longer verifies against the listener's mutual TLS
	// settings (they changed since the handshake): 421 tells the client to
	// retry on a new connection, whose handshake applies the new settings.
	ErrClientCertificate = &Failure{http.StatusMisdirectedRequest, "ClientCertificateNotVerified", "client certificate not verified under the listener's current mutual TLS settings; reconnect"}
)

// Classify maps any forwarding error to the failure the load balancer
// reports. A *Failure (possibly wrapped) is returned as is.
func Classify(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	if errors.Is(err, context.Canceled) {
		return ErrClientClosed
	}
	dial := isDial(err)
	if IsTimeout(err) {
		if dial {
			return ErrTargetConnTimeout
		}
		return ErrTargetTimeout
	}
	if dial {
		return ErrTargetConnect
	}
	if isTLS(err) {
		return ErrTargetTLS
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return ErrTargetResponse
	}
	return ErrTargetResponse
}

// Status is Classify(err).Code.
func Status(err error) int { return Classify(err).Code }

// IsConnectFailure reports whether err happened before the request reached
// the target (so resending it elsewhere cannot repeat its effects) and is the
// kind of failure that marks the target as down: refused, unreachable or
// timed out while connecting.
func IsConnectFailure(err error) bool { return isDial(err) && !errors.Is(err, context.Canceled) }

func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// IsTimeout reports whether err is a deadline passing: a network timeout,
// an expired deadline, or an expired context.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLS(err error) bool {
	var (
		rh  tls.RecordHeaderError
		ae  tls.AlertError
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		cie x509.CertificateInvalidError
	)
	return errors.As(err, &rh) || errors.As(err, &ae) || errors.As(err, &cv) ||
		errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &cie)
}
