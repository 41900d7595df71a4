package router

import (
	"fmt"
	"strings"
)

// KeyValue is one query-string pattern. An empty Key matches any key; Value
// is required.
type KeyValue struct {
	Key, Value string
}

// QueryString returns a query-string condition: some parameter of the
// request's query matches one of pairs. Keys and values are compared
// case-insensitively with '*' and '?' wildcards; in a pattern, `\*`, `\?`
// and `\\` stand for a literal '*', '?' and '\', and a backslash before
// anything else is an error. Patterns hold visible ASCII and spaces, at most
// 128 bytes each, and are compared with the decoded request text.
//
// The request's query is split on '&' and each part on its first '=' (a
// part without '=' is a key with an empty value; empty parts are skipped).
// Keys and values are percent-decoded before comparison; '+' is compared as
// '+', not as a space, and a '%' not followed by two hex digits stands for
// itself.
func QueryString(pairs []KeyValue) (Condition, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("query-string: %w", errNoValues)
	}
	out := make([]queryPair, 0, len(pairs))
	for _, kv := range pairs {
		var qp queryPair
		if kv.Key != "" {
			k, err := compileQueryPattern(kv.Key)
			if err != nil {
				return nil, fmt.Errorf("query-string key %q: %w", kv.Key, err)
			}
			qp.key, qp.hasKey = k, true
		}
		v, err := compileQueryPattern(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("query-string value %q (key %q): %w", kv.Value, kv.Key, err)
		}
		qp.value = v
		out = append(out, qp)
	}
	return &queryCondition{pairs: out}, nil
}

func compileQueryPattern(p string) (wildcard, error) {
	if err := checkLen(p, maxPatternLen); err != nil {
		return wildcard{}, err
	}
	if err := checkChars(p, isPrintable); err != nil {
		return wildcard{}, err
	}
	return compileWildcard(p, true, true)
}

type queryPair struct {
	key    wildcard
	hasKey bool // false: any key
	value  wildcard
}

type queryCondition struct{ pairs []queryPair }

func (c *queryCondition) Match(r *Request) bool {
	q := r.RawQuery
	for q != "" {
		part := q
		if i := strings.IndexByte(q, '&'); i >= 0 {
			part, q = q[:i], q[i+1:]
		} else {
			q = ""
		}
		if part == "" {
			continue
		}
		key, value := part, ""
		if i := strings.IndexByte(part, '='); i >= 0 {
			key, value = part[:i], part[i+1:]
		}
		if c.matchParam(key, value) {
			return true
		}
	}
	return false
}

// matchParam reports whether one raw (still encoded) parameter matches any
// pair.
func (c *queryCondition) matchParam(key, value string) bool {
	for i := range c.pairs {
		p := &c.pairs[i]
		if (!p.hasKey || p.key.matchDecoded(key)) && p.value.matchDecoded(value) {
			return true
		}
	}
	return false
}
