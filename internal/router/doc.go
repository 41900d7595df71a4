// Package router evaluates listener rules against requests: it holds the
// condition matchers (host-header, path-pattern, http-header,
// http-request-method, query-string, source-ip) and the priority-ordered rule
// table that picks the first matching rule, with ALB semantics.
//
// The router is part of the data plane. It imports no other sluice package:
// the control plane compiles its configuration into Conditions and a Table
// and hands those over. A Table is immutable once built and safe for
// concurrent use; matching a request allocates nothing.
//
// Wildcard patterns use '*' for any run of bytes (including none) and '?'
// for exactly one byte. Matching is linear in practice (a greedy scan with a
// single backtrack point, O(len(pattern)·len(input)) in the worst case), so
// hostile patterns or inputs cannot make it exponential. Case-insensitive
// comparisons fold ASCII letters only.
package router
