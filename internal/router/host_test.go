package router

import (
	"strings"
	"testing"
)

func TestHostHeader(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		host     string
		want     bool
	}{
		{"exact", []string{"example.com"}, "example.com", true},
		{"case insensitive request", []string{"example.com"}, "EXAMPLE.Com", true},
		{"case insensitive pattern", []string{"Example.COM"}, "example.com", true},
		{"other host", []string{"example.com"}, "example.org", false},
		{"port stripped", []string{"example.com"}, "example.com:8080", true},
		{"empty port stripped", []string{"example.com"}, "example.com:", true},
		{"non-digit port kept", []string{"example.com"}, "example.com:http", false},
		{"trailing dot", []string{"example.com"}, "example.com.", true},
		{"trailing dot and port", []string{"example.com"}, "example.com.:443", true},
		{"two trailing dots", []string{"example.com"}, "example.com..", false},
		{"pattern trailing dot", []string{"example.com."}, "example.com", true},
		{"subdomain wildcard one label", []string{"*.example.com"}, "a.example.com", true},
		{"subdomain wildcard two labels", []string{"*.example.com"}, "a.b.example.com", true},
		{"subdomain wildcard not apex", []string{"*.example.com"}, "example.com", false},
		{"subdomain wildcard suffix trap", []string{"*.example.com"}, "badexample.com", false},
		{"question one char", []string{"api-?.example.com"}, "api-1.example.com", true},
		{"question not two chars", []string{"api-?.example.com"}, "api-12.example.com", false},
		{"star alone", []string{"*"}, "anything.example:81", true},
		{"star alone empty host", []string{"*"}, "", true},
		{"empty host", []string{"example.com"}, "", false},
		{"or of values", []string{"a.example.com", "b.example.com"}, "b.example.com", true},
		{"or of values none", []string{"a.example.com", "b.example.com"}, "c.example.com", false},
		{"ipv4 with port", []string{"10.0.0.1"}, "10.0.0.1:80", true},
		{"ipv6 with port by wildcard", []string{"*"}, "[::1]:8080", true},
		// Patterns cannot hold ':' or brackets, so '?' counts what is left.
		{"ipv6 port stripped", []string{"?????"}, "[::1]:8080", true},
		{"ipv6 without port", []string{"?????"}, "[::1]", true},
		{"ipv6 not a domain", []string{"*.example.com"}, "[::1]:443", false},
		{"bare ipv6 not stripped", []string{"???????"}, "fe80::1", true},
		{"bare ipv6 keeps last group", []string{"?????"}, "fe80::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := HostHeader(tt.patterns)
			if err != nil {
				t.Fatalf("HostHeader(%q): %v", tt.patterns, err)
			}
			if got := c.Match(&Request{Host: tt.host}); got != tt.want {
				t.Errorf("Match(Host %q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestHostName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"example.com", "example.com"},
		{"example.com:8080", "example.com"},
		{"example.com:", "example.com"},
		{"example.com.", "example.com"},
		{"example.com.:8080", "example.com"},
		{"Example.COM:1", "Example.COM"},
		{"example.com:80a", "example.com:80a"},
		{"a:1:2", "a:1:2"},
		{"[::1]:8080", "[::1]"},
		{"[::1]", "[::1]"},
		{"[::1]:", "[::1]"},
		{"[::1]:80:90", "[::1]:80:90"},
		{"[::1]x", "[::1]x"},
		{"[::1", "[::1"},
		{"::1", "::1"},
		{"fe80::1:8080", "fe80::1:8080"},
		{"10.0.0.1:443", "10.0.0.1"},
		{".", ""},
		{":80", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := hostName(tt.in); got != tt.want {
				t.Errorf("hostName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHostHeaderErrors(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
	}{
		{"no values", nil},
		{"empty value", []string{""}},
		{"underscore", []string{"a_b.example.com"}},
		{"colon", []string{"example.com:80"}},
		{"slash", []string{"example.com/"}},
		{"space", []string{"example .com"}},
		{"non-ascii", []string{"exämple.com"}},
		{"just a dot", []string{"."}},
		{"too long", []string{strings.Repeat("a", 129)}},
		{"one bad among good", []string{"a.example.com", "b!.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := HostHeader(tt.patterns); err == nil {
				t.Errorf("HostHeader(%q) succeeded, want an error", tt.patterns)
			}
		})
	}
	if _, err := HostHeader([]string{strings.Repeat("a", 128)}); err != nil {
		t.Errorf("128 characters refused: %v", err)
	}
}

func FuzzHostHeader(f *testing.F) {
	for _, h := range []string{"example.com", "Example.COM:8080", "[::1]:8080", "[::1]", "fe80::1", "a.b.", "a:", ":", "[", "[]:1", "x:80:90", ""} {
		f.Add(h, "*.example.com")
	}
	f.Add("a.example.com", "?")
	f.Fuzz(func(t *testing.T, host, pattern string) {
		once := stripPort(host)
		if twice := stripPort(once); twice != once {
			t.Fatalf("stripPort not idempotent: %q → %q → %q", host, once, twice)
		}
		name := hostName(host)
		if !strings.HasPrefix(host, name) {
			t.Fatalf("hostName(%q) = %q, not a prefix", host, name)
		}
		// A plain name gains nothing from a port.
		if !strings.ContainsAny(host, ":[") {
			for _, port := range []string{":80", ":", ":65535"} {
				if got := hostName(host + port); got != name {
					t.Fatalf("hostName(%q) = %q, hostName(%q) = %q", host+port, got, host, name)
				}
			}
		}
		c, err := HostHeader([]string{pattern, "*.example.com"})
		if err != nil {
			return
		}
		m := c.Match(&Request{Host: host})
		if up := asciiUpper(host); c.Match(&Request{Host: up}) != m {
			t.Fatalf("Match(%q) = %v but Match(%q) differs", host, m, up)
		}
		if m != c.Match(&Request{Host: once}) {
			t.Fatalf("Match(%q) = %v but Match(%q) differs", host, m, once)
		}
	})
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
