package router

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestWildcard(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		fold    bool
		escapes bool
		input   string
		want    bool
	}{
		{"exact", "abc", false, false, "abc", true},
		{"exact mismatch", "abc", false, false, "abd", false},
		{"exact shorter input", "abc", false, false, "ab", false},
		{"exact empty input", "abc", false, false, "", false},
		{"star alone empty input", "*", false, false, "", true},
		{"star alone anything", "*", false, false, "a/b.c?d", true},
		{"question alone empty input", "?", false, false, "", false},
		{"question alone one byte", "?", false, false, "x", true},
		{"question alone two bytes", "?", false, false, "xy", false},
		{"question at end", "ab?", false, false, "abc", true},
		{"question at end missing", "ab?", false, false, "ab", false},
		{"question at start", "?bc", false, false, "abc", true},
		{"double star", "a**c", false, false, "abbbc", true},
		{"double star empty run", "a**c", false, false, "ac", true},
		{"triple star alone", "***", false, false, "", true},
		{"star question", "*?", false, false, "", false},
		{"star question one", "*?", false, false, "a", true},
		{"question star question", "?*?", false, false, "ab", true},
		{"question star question short", "?*?", false, false, "a", false},
		{"pattern longer than input", "abcdef", false, false, "abc", false},
		{"wildcard pattern longer than input", "a?c?e?", false, false, "abc", false},
		{"trailing star", "/img/*", false, false, "/img/", true},
		{"trailing star deep", "/img/*", false, false, "/img/a/b.png", true},
		{"leading star", "*.png", false, false, "/a/b.png", true},
		{"leading star no match", "*.png", false, false, "/a/b.png.gif", false},
		{"inner star needs backtrack", "*ab*ab", false, false, "xabyabzab", true},
		{"many stars no match", "*a*a*a*a*b", false, false, strings.Repeat("a", 200), false},
		{"many stars match", "*a*a*a*a*b", false, false, strings.Repeat("a", 200) + "b", true},
		{"case sensitive", "ABC", false, false, "abc", false},
		{"fold", "ABC", true, false, "abc", true},
		{"fold input upper", "abc", true, false, "AbC", true},
		{"fold with wildcard", "*.EXAMPLE.com", true, false, "A.example.COM", true},
		{"fold leaves non-letters", "a[", true, false, "A{", false},
		{"fold leaves utf-8 alone", "é", true, false, "É", false},
		{"question is one byte", "?", false, false, "é", false},
		{"two questions for two bytes", "??", false, false, "é", true},
		{"backslash plain without escapes", `a\*`, false, false, `a\xyz`, true},
		{"escaped star literal", `a\*`, true, true, "a*", true},
		{"escaped star not wildcard", `a\*`, true, true, "ab", false},
		{"escaped question literal", `a\?`, true, true, "a?", true},
		{"escaped question not wildcard", `a\?`, true, true, "ab", false},
		{"escaped backslash", `a\\`, true, true, `a\`, true},
		{"escaped star then star", `\**`, true, true, "*abc", true},
		{"escaped star then star needs star", `\**`, true, true, "abc", false},
		{"star then escaped star", `*\*`, true, true, "abc*", true},
		{"star escaped star star", `*\**`, true, true, "a*b", true},
		{"star escaped star star missing", `*\**`, true, true, "ab", false},
		{"unescaped star with escapes", "a*", true, true, "abc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := compileWildcard(tt.pattern, tt.fold, tt.escapes)
			if err != nil {
				t.Fatalf("compileWildcard(%q): %v", tt.pattern, err)
			}
			if got := w.match(tt.input); got != tt.want {
				t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
			if got := w.scan(w.lit, tt.input, false); got != tt.want {
				t.Errorf("scan(%q, %q) = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
		})
	}
}

func TestWildcardDecoded(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		input   string
		want    bool
	}{
		{"plain", "abc", "abc", true},
		{"encoded letter", "abc", "a%62c", true},
		{"encoded upper hex", "a/b", "a%2Fb", true},
		{"encoded lower hex", "a/b", "a%2fb", true},
		{"encoded space", "a b", "a%20b", true},
		{"plus stays plus", "a+b", "a+b", true},
		{"plus is not space", "a b", "a+b", false},
		{"encoded star is literal input", `a\*`, "a%2A", true},
		{"wildcard over encoded", "a?c", "a%41c", true},
		{"question eats one decoded byte", "?", "%41", true},
		{"star backtracks over encoded", "*%", "%41%25", true},
		{"bad escape literal", "%zz", "%zz", true},
		{"truncated escape literal", "a%4", "a%4", true},
		{"percent at end", "a%", "a%", true},
		{"decoded case folded", "ABC", "%61%62%63", true},
		{"raw form does not match decoded pattern", "%41", "%41", false},
		{"encoded percent", "%41", "%2541", true},
		{"utf-8 two bytes", "??", "%C3%A9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := compileWildcard(tt.pattern, true, true)
			if err != nil {
				t.Fatalf("compileWildcard(%q): %v", tt.pattern, err)
			}
			if got := w.matchDecoded(tt.input); got != tt.want {
				t.Errorf("matchDecoded(%q, %q) = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
		})
	}
}

func TestCompileWildcardErrors(t *testing.T) {
	for _, p := range []string{"", "\x00", "a\x01", `\`, `a\`, `\a`, `a\b`, `\ `} {
		if _, err := compileWildcard(p, true, true); err == nil {
			t.Errorf("compileWildcard(%q) succeeded, want an error", p)
		}
	}
}

// TestWildcardPathological pins that backtracking stays polynomial: an
// exponential matcher would not finish these.
func TestWildcardPathological(t *testing.T) {
	pattern := strings.Repeat("*a", 60) + "*b"
	input := strings.Repeat("a", 100000)
	w, err := compileWildcard(pattern, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if w.match(input) {
		t.Error("matched an input without 'b'")
	}
	if !w.match(input + "b") {
		t.Error("did not match an input ending in 'b'")
	}
	if w.matchDecoded(strings.Repeat("%61", 30000)) {
		t.Error("decoded: matched an input without 'b'")
	}
}

// refToken is one element of a pattern for the reference matcher.
type refToken struct {
	kind byte // 'l' literal, '*', '?'
	c    byte
}

// refParse parses a pattern the slow, obvious way.
func refParse(pat string, escapes bool) ([]refToken, bool) {
	if pat == "" || strings.ContainsAny(pat, "\x00\x01") {
		return nil, false
	}
	var toks []refToken
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case escapes && c == '\\':
			if i+1 >= len(pat) || !strings.ContainsRune(`*?\`, rune(pat[i+1])) {
				return nil, false
			}
			i++
			toks = append(toks, refToken{'l', pat[i]})
		case c == '*' || c == '?':
			toks = append(toks, refToken{c, 0})
		default:
			toks = append(toks, refToken{'l', c})
		}
	}
	return toks, true
}

// refDecode percent-decodes s into a new string, keeping malformed escapes.
func refDecode(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+1])) &&
			strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+2])) {
			var v byte
			for _, h := range []byte{s[i+1], s[i+2]} {
				v <<= 4
				switch {
				case h <= '9':
					v |= h - '0'
				case h <= 'F':
					v |= h - 'A' + 10
				default:
					v |= h - 'a' + 10
				}
			}
			b = append(b, v)
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// refMatch is the textbook recursive definition of glob matching, memoized
// so that fuzzing does not stall on many stars.
func refMatch(toks []refToken, s string, fold bool) bool {
	eq := func(a, b byte) bool {
		if fold && a < utf8.RuneSelf && b < utf8.RuneSelf {
			return unicode.ToLower(rune(a)) == unicode.ToLower(rune(b))
		}
		return a == b
	}
	memo := map[[2]int]bool{}
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if v, ok := memo[[2]int{i, j}]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(toks):
			r = j == len(s)
		case toks[i].kind == '*':
			r = rec(i+1, j) || j < len(s) && rec(i, j+1)
		case toks[i].kind == '?':
			r = j < len(s) && rec(i+1, j+1)
		default:
			r = j < len(s) && eq(toks[i].c, s[j]) && rec(i+1, j+1)
		}
		memo[[2]int{i, j}] = r
		return r
	}
	return rec(0, 0)
}

// FuzzWildcard checks the fast matcher against refMatch.
func FuzzWildcard(f *testing.F) {
	f.Add("*.example.com", "a.b.example.com", true, false, false)
	f.Add("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaab", false, false, false)
	f.Add(`\**\?`, "*abc?", true, true, false)
	f.Add("a?c", "a%42c", true, true, true)
	f.Add("**?", "", false, false, false)
	f.Add("/api/*/x", "/api/v1/x", false, false, false)
	f.Add("%", "%2", true, true, true)
	f.Add("K", "k", true, false, false)
	f.Fuzz(func(t *testing.T, pattern, input string, fold, escapes, decode bool) {
		if len(pattern) > 256 || len(input) > 1024 {
			return
		}
		w, err := compileWildcard(pattern, fold, escapes)
		toks, ok := refParse(pattern, escapes)
		if (err == nil) != ok {
			t.Fatalf("compileWildcard(%q, escapes=%v) error %v, reference ok=%v", pattern, escapes, err, ok)
		}
		if err != nil {
			return
		}
		if decode {
			got := w.matchDecoded(input)
			if want := refMatch(toks, refDecode(input), fold); got != want {
				t.Fatalf("matchDecoded(%q, %q, fold=%v) = %v, reference %v", pattern, input, fold, got, want)
			}
			return
		}
		got := w.match(input)
		if want := refMatch(toks, input, fold); got != want {
			t.Fatalf("match(%q, %q, fold=%v) = %v, reference %v", pattern, input, fold, got, want)
		}
		if s := w.scan(w.lit, input, false); s != got {
			t.Fatalf("scan(%q, %q) = %v, match = %v", pattern, input, s, got)
		}
	})
}
