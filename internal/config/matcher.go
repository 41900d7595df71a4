package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseMatcher parses a health check matcher such as "200", "200,404" or
// "200-299" into inclusive [low, high] code ranges. HTTP codes must lie in
// 200–499; with grpc set the codes are gRPC status codes, 0–99.
func ParseMatcher(s string, grpc bool) ([][2]int, error) {
	lo, hi := 200, 499
	if grpc {
		lo, hi = 0, 99
	}
	code := func(t string) (int, error) {
		t = strings.TrimSpace(t)
		n, err := strconv.Atoi(t)
		if err != nil || t == "" || t[0] < '0' || t[0] > '9' {
			return 0, fmt.Errorf("%q is not a status code", t)
		}
		if n < lo || n > hi {
			return 0, fmt.Errorf("code %d is outside %d–%d", n, lo, hi)
		}
		return n, nil
	}
	var out [][2]int
	for item := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(item, "-")
		low, err := code(a)
		if err != nil {
			return nil, err
		}
		high := low
		if isRange {
			if high, err = code(b); err != nil {
				return nil, err
			}
			if high < low {
				return nil, fmt.Errorf("range %d-%d is backwards; write the lower code first", low, high)
			}
		}
		out = append(out, [2]int{low, high})
	}
	return out, nil
}
