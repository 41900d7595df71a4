package router

import (
	"strings"
	"testing"
)

func TestQueryString(t *testing.T) {
	tests := []struct {
		name  string
		pairs []KeyValue
		query string
		want  bool
	}{
		{"key and value", []KeyValue{{"version", "v1"}}, "version=v1", true},
		{"among others", []KeyValue{{"version", "v1"}}, "a=1&version=v1&b=2", true},
		{"value differs", []KeyValue{{"version", "v1"}}, "version=v2", false},
		{"key differs", []KeyValue{{"version", "v1"}}, "ver=v1", false},
		{"case insensitive", []KeyValue{{"Version", "V1"}}, "VERSION=v1", true},
		{"any key", []KeyValue{{"", "beta"}}, "x=1&y=beta", true},
		{"any key no value", []KeyValue{{"", "beta"}}, "x=1&y=alpha", false},
		{"value wildcard", []KeyValue{{"version", "v*"}}, "version=v1.2", true},
		{"key wildcard", []KeyValue{{"utm_*", "*"}}, "utm_source=x", true},
		{"question", []KeyValue{{"v", "?"}}, "v=1", true},
		{"question needs one", []KeyValue{{"v", "?"}}, "v=", false},
		{"star matches empty value", []KeyValue{{"debug", "*"}}, "debug=", true},
		{"part without equals is a key", []KeyValue{{"debug", "*"}}, "debug", true},
		{"part without equals is not a value", []KeyValue{{"", "debug"}}, "debug", false},
		{"split on first equals", []KeyValue{{"a", "b=c"}}, "a=b=c", true},
		{"empty parts skipped", []KeyValue{{"a", "1"}}, "&&a=1&", true},
		{"empty query", []KeyValue{{"", "*"}}, "", false},
		{"escaped star literal", []KeyValue{{"q", `\*`}}, "q=*", true},
		{"escaped star not wildcard", []KeyValue{{"q", `\*`}}, "q=abc", false},
		{"escaped question literal", []KeyValue{{"q", `a\?`}}, "q=a%3F", true},
		{"escaped question not wildcard", []KeyValue{{"q", `a\?`}}, "q=ab", false},
		{"escaped backslash", []KeyValue{{"q", `a\\b`}}, `q=a%5Cb`, true},
		{"percent-decoded value", []KeyValue{{"q", "a b"}}, "q=a%20b", true},
		{"percent-decoded key", []KeyValue{{"my key", "1"}}, "my%20key=1", true},
		{"encoded equals in key", []KeyValue{{"a=b", "1"}}, "a%3Db=1", true},
		{"encoded ampersand in value", []KeyValue{{"q", "a&b"}}, "q=a%26b", true},
		{"plus is literal", []KeyValue{{"q", "a+b"}}, "q=a+b", true},
		{"plus is not space", []KeyValue{{"q", "a b"}}, "q=a+b", false},
		{"malformed escape literal", []KeyValue{{"q", "100%"}}, "q=100%", true},
		{"decoded then folded", []KeyValue{{"q", "abc"}}, "q=%41%42%43", true},
		{"long encoded value", []KeyValue{{"q", "*z"}}, "q=" + strings.Repeat("%61", 5000) + "z", true},
		{"multi-valued or", []KeyValue{{"a", "1"}, {"b", "2"}}, "b=2", true},
		{"multi-valued or none", []KeyValue{{"a", "1"}, {"b", "2"}}, "a=2&b=1", false},
		{"repeated key any matches", []KeyValue{{"tag", "x"}}, "tag=y&tag=x", true},
		{"key and value from different parts", []KeyValue{{"a", "2"}}, "a=1&b=2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := QueryString(tt.pairs)
			if err != nil {
				t.Fatalf("QueryString(%q): %v", tt.pairs, err)
			}
			if got := c.Match(&Request{RawQuery: tt.query}); got != tt.want {
				t.Errorf("Match(RawQuery %q) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestQueryStringErrors(t *testing.T) {
	tests := []struct {
		name  string
		pairs []KeyValue
	}{
		{"no pairs", nil},
		{"value required", []KeyValue{{"a", ""}}},
		{"value required without key", []KeyValue{{}}},
		{"trailing backslash", []KeyValue{{"a", `x\`}}},
		{"backslash before letter", []KeyValue{{"a", `\x`}}},
		{"bad escape in key", []KeyValue{{`k\k`, "v"}}},
		{"control character", []KeyValue{{"a", "x\ny"}}},
		{"non-ascii", []KeyValue{{"a", "é"}}},
		{"value too long", []KeyValue{{"a", strings.Repeat("v", 129)}}},
		{"key too long", []KeyValue{{strings.Repeat("k", 129), "v"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := QueryString(tt.pairs); err == nil {
				t.Errorf("QueryString(%q) succeeded, want an error", tt.pairs)
			}
		})
	}
}

// refQueryMatch is the query-string condition written the slow, obvious
// way, with the reference glob matcher.
func refQueryMatch(key, value, rawQuery string) bool {
	vt, _ := refParse(value, true)
	kt, _ := refParse(key, true)
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if (key == "" || refMatch(kt, refDecode(k), true)) && refMatch(vt, refDecode(v), true) {
			return true
		}
	}
	return false
}

// FuzzQueryString checks that the condition never panics and agrees with
// refQueryMatch.
func FuzzQueryString(f *testing.F) {
	f.Add("version", "v*", "a=1&version=v2")
	f.Add("", `\*`, "q=%2A&&x")
	f.Add("k?y", "a%", "KEY=A%25&k=")
	f.Add("", "*", "=")
	f.Add("a", "b", "a=b=c&%zz=%4")
	f.Fuzz(func(t *testing.T, key, value, rawQuery string) {
		c, err := QueryString([]KeyValue{{key, value}})
		if err != nil {
			return
		}
		got := c.Match(&Request{RawQuery: rawQuery})
		if want := refQueryMatch(key, value, rawQuery); got != want {
			t.Fatalf("QueryString(%q=%q).Match(%q) = %v, reference %v", key, value, rawQuery, got, want)
		}
	})
}
