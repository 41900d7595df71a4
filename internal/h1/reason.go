package h1

import (
	"math/bits"
	"strconv"
)

// Class is the desync-mitigation class of a request, from the least to the
// most dangerous. The names are ALB's (and http_desync_guardian's) tiers.
type Class uint8

// The classes, ordered: a request's class is the highest class of all the
// reasons that apply to it.
const (
	Compliant  Class = iota // RFC 7230/9112 compliant; forwarded in every mode.
	Acceptable              // not compliant, but no desync risk.
	Ambiguous               // the body length may be read differently downstream.
	Severe                  // a desync attempt or a message that cannot be trusted.
)

var classNames = [...]string{"Compliant", "Acceptable", "Ambiguous", "Severe"}

// String returns the ALB name of the class.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Reason is why a request got its class. The names are those ALB writes in
// the classification_reason access log field. The constants are ordered by
// class, and within a class by priority: when several reasons apply, the
// request reports the first one of its highest class.
type Reason uint8

// The reasons, grouped by class.
const (
	ReasonCompliant Reason = iota

	// Acceptable.
	ReasonNonCompliantHeader       // a non-framing header with a non-token name or CTL/non-ASCII value bytes
	ReasonSpaceInUri               // an unescaped SP inside the request-target
	ReasonNonCompliantVersion      // HTTP/0.9 (no version), HTTP/1.2–1.9, or spaces after the version
	ReasonGetHeadZeroContentLength // GET or HEAD with Content-Length: 0
	ReasonNonCrLfLineTermination   // a line ended by a bare LF

	// Ambiguous.
	ReasonEmptyHeader                        // an empty header name or a whitespace-only line
	ReasonAmbiguousUri                       // CTL bytes (other than NUL, CR, LF) in the request-target
	ReasonUndefinedContentLengthSemantics    // Content-Length > 0 on GET/HEAD, or on HTTP/0.9
	ReasonUndefinedTransferEncodingSemantics // Transfer-Encoding on GET/HEAD, HTTP/1.0 or HTTP/0.9
	ReasonDuplicateContentLength             // several Content-Length fields with the same value
	ReasonBothTeClPresent                    // Transfer-Encoding and Content-Length together
	ReasonSuspiciousHeader                   // a name that looks like Transfer-Encoding or Content-Length but is not
	ReasonMultilineHeader                    // obs-fold continuation lines
	ReasonPartialHeaderLine                  // the head ends inside a line (ParseRequestAtEOF)
	ReasonMissingHeaderColon                 // a header line without a colon
	ReasonMissingLastEmptyLine               // the head ends without the empty line (ParseRequestAtEOF)
	ReasonMissingUri                         // no request-target

	// Severe.
	ReasonBadHeader                       // NUL or CR in a header line, or an unattached continuation line
	ReasonBadUri                          // NUL or CR in the request-target, or a target of the wrong form
	ReasonBadVersion                      // a malformed HTTP-version
	ReasonMultipleContentLength           // Content-Length fields with different values
	ReasonBadContentLength                // a Content-Length that is not 1*DIGIT within int64
	ReasonMultipleTransferEncodingChunked // chunked applied more than once
	ReasonBadTransferEncoding             // a transfer coding other than chunked (last) and identity
	ReasonBadMethod                       // a method that is not a token

	numReasons
)

var reasonNames = [numReasons]string{
	"Compliant",
	"NonCompliantHeader",
	"SpaceInUri",
	"NonCompliantVersion",
	"GetHeadZeroContentLength",
	"NonCrLfLineTermination",
	"EmptyHeader",
	"AmbiguousUri",
	"UndefinedContentLengthSemantics",
	"UndefinedTransferEncodingSemantics",
	"DuplicateContentLength",
	"BothTeClPresent",
	"SuspiciousHeader",
	"MultilineHeader",
	"PartialHeaderLine",
	"MissingHeaderColon",
	"MissingLastEmptyLine",
	"MissingUri",
	"BadHeader",
	"BadUri",
	"BadVersion",
	"MultipleContentLength",
	"BadContentLength",
	"MultipleTransferEncodingChunked",
	"BadTransferEncoding",
	"BadMethod",
}

// The reason bit masks of each class.
const (
	acceptableMask = 1<<ReasonEmptyHeader - 1<<ReasonNonCompliantHeader
	ambiguousMask  = 1<<ReasonBadHeader - 1<<ReasonEmptyHeader
	severeMask     = 1<<numReasons - 1<<ReasonBadHeader
)

// String returns the ALB name of the reason.
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Class returns the class a request with this reason has at least.
func (r Reason) Class() Class {
	switch {
	case r == ReasonCompliant || r >= numReasons:
		return Compliant
	case r < ReasonEmptyHeader:
		return Acceptable
	case r < ReasonBadHeader:
		return Ambiguous
	}
	return Severe
}

// verdict returns the class and the reported reason of a reason bit mask:
// the first reason, in constant order, of the highest class present.
func verdict(mask uint64) (Class, Reason) {
	for _, m := range [...]struct {
		mask  uint64
		class Class
	}{{severeMask, Severe}, {ambiguousMask, Ambiguous}, {acceptableMask, Acceptable}} {
		if v := mask & m.mask; v != 0 {
			return m.class, Reason(bits.TrailingZeros64(v))
		}
	}
	return Compliant, ReasonCompliant
}
