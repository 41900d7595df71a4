package router

import "net/netip"

// Request is the small view of an HTTP request the router reads. Engines fill
// it from their own request representation without copying.
type Request struct {
	// Method is the request method, as sent (case-sensitive).
	Method string
	// Host is the Host header (or the HTTP/2 :authority) as sent. It may
	// carry a port, may be upper case and may be an IPv6 literal such as
	// [::1]:8080. Empty means the request named no host.
	Host string
	// Path is the path only, as sent on the wire: not percent-decoded, no
	// query. Empty counts as "/".
	Path string
	// RawQuery is the query without the leading '?', not decoded.
	RawQuery string
	// Header gives the request headers. Nil means the request has none.
	Header Headers
	// SourceIP is the address of the connecting peer, never one taken from
	// X-Forwarded-For. The zero Addr matches no source-ip condition.
	SourceIP netip.Addr
}

// Headers gives read access to request headers. Values receives the name in
// canonical MIME form (textproto.CanonicalMIMEHeaderKey) and returns every
// value of every occurrence of that header, one element per header line, or
// nil when there is none. Values must not allocate.
//
// net/http's http.Header satisfies Headers as it is; HeaderMap does the same
// without re-canonicalizing the name.
type Headers interface {
	Values(canonicalName string) []string
}

// HeaderMap adapts a map keyed by canonical header names, such as an
// http.Header, to Headers.
type HeaderMap map[string][]string

var _ Headers = HeaderMap(nil)

// Values returns the values stored under canonicalName. A nil map has none.
func (h HeaderMap) Values(canonicalName string) []string {
	return h[canonicalName]
}
