package health

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Matcher is a set of good status codes: HTTP status codes, or gRPC status
// codes when Settings.GRPC is set. The zero Matcher matches nothing; in
// Settings it stands for the default ("200", or "12" for gRPC).
type Matcher struct {
	// ranges holds inclusive [lo, hi] ranges, sorted and merged.
	ranges [][2]int
}

// NewMatcher returns a matcher for the inclusive ranges given; a single code
// is the range [code, code]. Ranges are sorted and overlapping or adjacent
// ones merged; a range with lo > hi is swapped.
func NewMatcher(ranges [][2]int) Matcher {
	rs := make([][2]int, 0, len(ranges))
	for _, r := range ranges {
		if r[0] > r[1] {
			r[0], r[1] = r[1], r[0]
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b [2]int) int { return a[0] - b[0] })
	merged := rs[:0]
	for _, r := range rs {
		if n := len(merged); n > 0 && r[0] <= merged[n-1][1]+1 {
			merged[n-1][1] = max(merged[n-1][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return Matcher{ranges: merged}
}

// ParseMatcher parses the ALB matcher forms "200", "200,404" and "200-299"
// (and combinations such as "200,300-399"). It checks syntax only; the
// allowed code ranges are the config validator's business.
func ParseMatcher(s string) (Matcher, error) {
	if strings.TrimSpace(s) == "" {
		return Matcher{}, fmt.Errorf("matcher %q: empty", s)
	}
	var ranges [][2]int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseCode(lo)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = parseCode(hi); err != nil {
				return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
			}
			if b < a {
				return Matcher{}, fmt.Errorf("matcher %q: range %q ends before it starts", s, part)
			}
		}
		ranges = append(ranges, [2]int{a, b})
	}
	return NewMatcher(ranges), nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, fmt.Errorf("bad code %q", s)
	}
	return n, nil
}

// Match reports whether code is one of the good codes.
func (m Matcher) Match(code int) bool {
	for _, r := range m.ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// IsZero reports whether m is the zero Matcher (no codes at all).
func (m Matcher) IsZero() bool { return len(m.ranges) == 0 }

// String formats m in the ALB form: "200-299", "200,404".
func (m Matcher) String() string {
	var b strings.Builder
	for i, r := range m.ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(r[0]))
		if r[1] != r[0] {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(r[1]))
		}
	}
	return b.String()
}
