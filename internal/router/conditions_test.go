package router

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestPathPattern(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		path     string
		want     bool
	}{
		{"exact", []string{"/health"}, "/health", true},
		{"case sensitive", []string{"/health"}, "/Health", false},
		{"prefix needs star", []string{"/api"}, "/api/v1", false},
		{"star crosses slashes", []string{"/api/*"}, "/api/v1/users", true},
		{"star empty run", []string{"/api/*"}, "/api/", true},
		{"star not the bare prefix", []string{"/api/*"}, "/api", false},
		{"star alone", []string{"*"}, "/anything", true},
		{"extension", []string{"*.jpg"}, "/img/cat.jpg", true},
		{"question at end", []string{"/v?"}, "/v2", true},
		{"question needs one", []string{"/v?"}, "/v", false},
		{"empty path is root", []string{"/"}, "", true},
		{"empty path and star", []string{"/*"}, "", true},
		{"not decoded", []string{"/a%20b"}, "/a%20b", true},
		{"encoded differs from decoded", []string{"/a%20b"}, "/a b", false},
		{"hex case matters", []string{"/a%2Fb"}, "/a%2fb", false},
		{"or of values", []string{"/a", "/b"}, "/b", true},
		{"pattern longer than path", []string{"/health/live"}, "/health", false},
		{"punctuation", []string{"/~user/@a:b+c&d$e'f\"g_h-i.j"}, "/~user/@a:b+c&d$e'f\"g_h-i.j", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := PathPattern(tt.patterns)
			if err != nil {
				t.Fatalf("PathPattern(%q): %v", tt.patterns, err)
			}
			if got := c.Match(&Request{Path: tt.path}); got != tt.want {
				t.Errorf("Match(Path %q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestPathPatternErrors(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
	}{
		{"no values", []string{}},
		{"empty value", []string{""}},
		{"space", []string{"/a b"}},
		{"hash", []string{"/a#b"}},
		{"query mark is a wildcard but = is not allowed", []string{"/a?b=c"}},
		{"bad percent", []string{"/a%zz"}},
		{"short percent", []string{"/a%2"}},
		{"lone percent", []string{"%"}},
		{"backslash", []string{`/a\b`}},
		{"non-ascii", []string{"/é"}},
		{"too long", []string{"/" + strings.Repeat("a", 128)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := PathPattern(tt.patterns); err == nil {
				t.Errorf("PathPattern(%q) succeeded, want an error", tt.patterns)
			}
		})
	}
}

func TestHTTPHeader(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		patterns []string
		h        Headers
		want     bool
	}{
		{"exact", "User-Agent", []string{"curl/8.0"}, HeaderMap{"User-Agent": {"curl/8.0"}}, true},
		{"name case insensitive", "user-AGENT", []string{"curl/8.0"}, HeaderMap{"User-Agent": {"curl/8.0"}}, true},
		{"value case insensitive", "User-Agent", []string{"CURL/*"}, HeaderMap{"User-Agent": {"curl/8.0"}}, true},
		{"wildcard inside", "User-Agent", []string{"*Mobile*"}, HeaderMap{"User-Agent": {"Mozilla/5.0 (iPhone) Mobile Safari"}}, true},
		{"no match", "User-Agent", []string{"curl/*"}, HeaderMap{"User-Agent": {"Wget/1.0"}}, false},
		{"absent header", "X-Env", []string{"*"}, HeaderMap{"User-Agent": {"x"}}, false},
		{"nil headers", "X-Env", []string{"*"}, nil, false},
		{"empty value matches star", "X-Env", []string{"*"}, HeaderMap{"X-Env": {""}}, true},
		{"repeated header second matches", "X-Env", []string{"beta"}, HeaderMap{"X-Env": {"prod", "beta"}}, true},
		{"repeated header none matches", "X-Env", []string{"beta"}, HeaderMap{"X-Env": {"prod", "dev"}}, false},
		{"comma-joined is one value", "X-Env", []string{"beta"}, HeaderMap{"X-Env": {"prod, beta"}}, false},
		{"comma-joined matched whole", "X-Env", []string{"*beta"}, HeaderMap{"X-Env": {"prod, beta"}}, true},
		{"multi-valued or", "X-Env", []string{"dev", "beta"}, HeaderMap{"X-Env": {"beta"}}, true},
		{"question", "X-Version", []string{"v?"}, HeaderMap{"X-Version": {"V2"}}, true},
		{"http.Header works as Headers", "x-env", []string{"beta"}, http.Header{"X-Env": {"beta"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := HTTPHeader(tt.header, tt.patterns)
			if err != nil {
				t.Fatalf("HTTPHeader(%q, %q): %v", tt.header, tt.patterns, err)
			}
			if got := c.Match(&Request{Header: tt.h}); got != tt.want {
				t.Errorf("Match(%v) = %v, want %v", tt.h, got, tt.want)
			}
		})
	}
}

func TestHTTPHeaderErrors(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		patterns []string
	}{
		{"host", "Host", []string{"*"}},
		{"host lower case", "host", []string{"*"}},
		{"host mixed case", "hOsT", []string{"*"}},
		{"empty name", "", []string{"*"}},
		{"space in name", "X Env", []string{"*"}},
		{"colon in name", ":authority", []string{"*"}},
		{"name too long", "X-" + strings.Repeat("a", 39), []string{"*"}},
		{"no values", "X-Env", nil},
		{"empty value", "X-Env", []string{""}},
		{"control character", "X-Env", []string{"a\x01b"}},
		{"tab", "X-Env", []string{"a\tb"}},
		{"delete", "X-Env", []string{"a\x7f"}},
		{"non-ascii", "X-Env", []string{"é"}},
		{"value too long", "X-Env", []string{strings.Repeat("a", 129)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := HTTPHeader(tt.header, tt.patterns); err == nil {
				t.Errorf("HTTPHeader(%q, %q) succeeded, want an error", tt.header, tt.patterns)
			}
		})
	}
}

func TestRequestMethod(t *testing.T) {
	tests := []struct {
		name    string
		methods []string
		method  string
		want    bool
	}{
		{"exact", []string{"GET"}, "GET", true},
		{"case sensitive", []string{"GET"}, "get", false},
		{"or", []string{"GET", "HEAD"}, "HEAD", true},
		{"none", []string{"GET", "HEAD"}, "POST", false},
		{"custom", []string{"PURGE_ALL", "M-SEARCH"}, "M-SEARCH", true},
		{"no prefix match", []string{"GET"}, "GETX", false},
		{"empty method", []string{"GET"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := RequestMethod(tt.methods)
			if err != nil {
				t.Fatalf("RequestMethod(%q): %v", tt.methods, err)
			}
			if got := c.Match(&Request{Method: tt.method}); got != tt.want {
				t.Errorf("Match(Method %q) = %v, want %v", tt.method, got, tt.want)
			}
		})
	}
}

func TestRequestMethodErrors(t *testing.T) {
	for _, ms := range [][]string{nil, {""}, {"get"}, {"GET "}, {"G*"}, {"GET1"}, {strings.Repeat("A", 41)}} {
		if _, err := RequestMethod(ms); err == nil {
			t.Errorf("RequestMethod(%q) succeeded, want an error", ms)
		}
	}
}

func TestSourceIP(t *testing.T) {
	tests := []struct {
		name  string
		cidrs []string
		ip    string // empty: the zero Addr
		want  bool
	}{
		{"v4 in block", []string{"10.0.0.0/8"}, "10.1.2.3", true},
		{"v4 outside block", []string{"10.0.0.0/8"}, "11.0.0.1", false},
		{"v4 bare address", []string{"192.0.2.7"}, "192.0.2.7", true},
		{"v4 bare address other", []string{"192.0.2.7"}, "192.0.2.8", false},
		{"v4 host bits ignored", []string{"10.1.2.3/8"}, "10.200.0.1", true},
		{"v4-mapped peer matches v4 block", []string{"10.0.0.0/8"}, "::ffff:10.0.0.1", true},
		{"v4-mapped block matches v4 peer", []string{"::ffff:10.0.0.0/104"}, "10.9.9.9", true},
		{"v4-mapped bare matches v4 peer", []string{"::ffff:10.0.0.1"}, "10.0.0.1", true},
		{"v6 in block", []string{"2001:db8::/32"}, "2001:db8:1::5", true},
		{"v6 outside block", []string{"2001:db8::/32"}, "2001:db9::1", false},
		{"v6 bare", []string{"2001:db8::1"}, "2001:db8::1", true},
		{"v6 zoned peer", []string{"fe80::/10"}, "fe80::1%eth0", true},
		{"v4 peer, v6 block", []string{"::/0"}, "10.0.0.1", false},
		{"v6 peer, v4 block", []string{"0.0.0.0/0"}, "2001:db8::1", false},
		{"or", []string{"192.0.2.0/24", "2001:db8::/32"}, "2001:db8::1", true},
		{"zero addr", []string{"0.0.0.0/0", "::/0"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := SourceIP(tt.cidrs)
			if err != nil {
				t.Fatalf("SourceIP(%q): %v", tt.cidrs, err)
			}
			var a netip.Addr
			if tt.ip != "" {
				a = netip.MustParseAddr(tt.ip)
			}
			if got := c.Match(&Request{SourceIP: a}); got != tt.want {
				t.Errorf("Match(SourceIP %v) = %v, want %v", a, got, tt.want)
			}
		})
	}
}

func TestSourceIPErrors(t *testing.T) {
	for _, cs := range [][]string{nil, {""}, {"10.0.0.0/33"}, {"10.0.0"}, {"example.com"}, {"fe80::1%eth0"}, {"10.0.0.0/8 "}, {"::/129"}} {
		if _, err := SourceIP(cs); err == nil {
			t.Errorf("SourceIP(%q) succeeded, want an error", cs)
		}
	}
}
