// Package h1 parses HTTP/1.x message heads for sluice's own HTTP engine and
// classifies every request the way AWS's http_desync_guardian (the library
// behind ALB's desync mitigation) does.
//
// # Parsing
//
// ParseRequest and ParseResponse parse a head at the start of a caller's
// buffer without allocating: every slice they return points into that buffer
// (so it is valid only while the buffer is), and Request.Headers and
// Response.Headers reuse their capacity from one call to the next. Both
// return ErrIncomplete until the buffer holds a whole head, and an *Error
// when the head can never be valid or is over a limit; the caller answers
// the *Error's Status itself. Chunked bodies are decoded by ChunkedReader.
//
// # Classification
//
// A request head is not rejected merely because it breaks RFC 9112: it is
// parsed as leniently as ALB parses it, and every deviation is recorded as a
// Reason. Each reason has a Class:
//
//   - Compliant: nothing to note.
//   - Acceptable: not compliant, but the message boundaries are clear
//     (a space in the URI, HTTP/1.2, a bare LF line end, ...).
//   - Ambiguous: a downstream parser might see different message boundaries
//     (Transfer-Encoding and Content-Length together, a header name that
//     looks like Transfer-Encoding, obs-fold, ...).
//   - Severe: a desync attempt or a message that cannot be trusted (NUL or
//     CR in the head, conflicting or malformed Content-Length, an unknown
//     transfer coding, ...).
//
// Request.Reasons holds every reason found; Request.Reason is the first
// reason (in constant order) of the highest class, and Request.Class that
// class. The package does not decide what to do with a request: the engine
// does, from the load balancer's desync_mitigation_mode. monitor forwards
// everything it can frame (Request.FramingOK); defensive refuses Severe and
// closes both connections after an Ambiguous request; strictest forwards
// Compliant requests only.
//
// Where sluice differs from http_desync_guardian, the difference is stricter
// and is noted where the rule is implemented.
package h1
