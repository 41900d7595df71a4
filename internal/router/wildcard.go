package router

import (
	"errors"
	"strings"
)

// Inside a compiled pattern a wildcard is stored as one of these bytes, so
// that telling a wildcard from a literal is a single comparison, escaped or
// not. Patterns may not contain them (every condition refuses control
// characters anyway); input may, and is compared as usual.
const (
	starByte = 0x00 // '*': any run of bytes, including none
	anyByte  = 0x01 // '?': exactly one byte
)

// wildcard is a compiled pattern in which '*' matches any run of bytes,
// including none, and '?' matches exactly one byte.
type wildcard struct {
	// lit is the pattern with escapes resolved, runs of '*' collapsed and
	// wildcards stored as starByte and anyByte. When fold is set its ASCII
	// letters are lower case.
	lit string
	// fold makes the comparison ASCII case-insensitive.
	fold bool
	// first and last are the indexes of the first and last '*' in lit, or
	// -1 when there is none. What comes before first and after last is
	// anchored, so match checks it without searching.
	first, last int
	// min is the fewest input bytes that can match: the non-'*' elements.
	min int
	// exact reports that lit holds no wildcard at all.
	exact bool
}

var (
	errEscape   = errors.New(`'\' must be followed by '*', '?' or '\'`)
	errEmpty    = errors.New("empty pattern")
	errReserved = errors.New("NUL and SOH are not allowed")
)

// compileWildcard compiles pat. With escapes, a backslash makes the next
// '*', '?' or '\' literal; any other use of a backslash is an error. Without
// escapes, a backslash is an ordinary byte. Apart from NUL and SOH, which it
// reserves, compileWildcard checks no character set or length: each
// condition does that for its own field.
func compileWildcard(pat string, fold, escapes bool) (wildcard, error) {
	if pat == "" {
		return wildcard{}, errEmpty
	}
	lit := make([]byte, 0, len(pat))
	w := wildcard{fold: fold, first: -1, last: -1, exact: true}
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == starByte || c == anyByte:
			return wildcard{}, errReserved
		case escapes && c == '\\':
			i++
			if i == len(pat) || (pat[i] != '*' && pat[i] != '?' && pat[i] != '\\') {
				return wildcard{}, errEscape
			}
			c = pat[i]
		case c == '*':
			w.exact = false
			if n := len(lit); n > 0 && lit[n-1] == starByte {
				continue // "**" is "*"
			}
			if w.first < 0 {
				w.first = len(lit)
			}
			w.last = len(lit)
			lit = append(lit, starByte)
			continue
		case c == '?':
			w.exact = false
			c = anyByte
		}
		if fold {
			c = lower(c)
		}
		lit = append(lit, c)
		w.min++
	}
	w.lit = string(lit)
	return w, nil
}

// match reports whether s matches the pattern as a whole.
func (w *wildcard) match(s string) bool {
	if len(s) < w.min {
		return false
	}
	if w.exact {
		if w.fold {
			return equalFoldLower(w.lit, s)
		}
		return w.lit == s
	}
	if w.first < 0 {
		return len(s) == len(w.lit) && w.fixed(w.lit, s)
	}
	pre, suf := w.lit[:w.first], w.lit[w.last+1:]
	if !w.fixed(pre, s[:len(pre)]) || !w.fixed(suf, s[len(s)-len(suf):]) {
		return false
	}
	if w.first == w.last {
		return true // one '*' takes whatever lies between
	}
	return w.scan(w.lit[w.first:w.last+1], s[len(pre):len(s)-len(suf)], false)
}

// matchDecoded reports whether s, once percent-decoded, matches the pattern
// as a whole. It decodes while it compares, so it allocates nothing however
// long s is. A '%' not followed by two hex digits stands for itself, and '+'
// stays '+'.
func (w *wildcard) matchDecoded(s string) bool {
	if strings.IndexByte(s, '%') < 0 {
		return w.match(s) // nothing to decode: take the anchored path
	}
	if len(s) < w.min { // decoding never lengthens s
		return false
	}
	return w.scan(w.lit, s, true)
}

// fixed reports whether s matches p, a piece of the pattern of the same
// length that holds no '*'.
func (w *wildcard) fixed(p, s string) bool {
	for i := 0; i < len(p); i++ {
		pc, c := p[i], s[i]
		if w.fold {
			c = lower(c)
		}
		if pc != c && pc != anyByte {
			return false
		}
	}
	return true
}

// scan matches s against p with the greedy two-pointer algorithm and a
// single backtrack point: on a mismatch it returns to the last '*' seen and
// lets it swallow one more input byte. Only the last '*' ever needs
// revisiting, because whatever an earlier '*' could absorb the later one can
// absorb too, so the cost is at most O(len(p)·len(s)), never exponential.
func (w *wildcard) scan(p, s string, decode bool) bool {
	pi, si := 0, 0
	star, mark := -1, 0 // last '*' in p, and where in s its match ends
	for si < len(s) {
		c, n := s[si], 1
		if decode {
			c, n = decodeAt(s, si)
		}
		if w.fold {
			c = lower(c)
		}
		if pi < len(p) {
			switch p[pi] {
			case starByte:
				star, mark = pi, si
				pi++
				continue
			case anyByte, c:
				pi++
				si += n
				continue
			}
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		if decode {
			_, n = decodeAt(s, mark)
		} else {
			n = 1
		}
		mark += n
		si = mark
	}
	for pi < len(p) && p[pi] == starByte {
		pi++
	}
	return pi == len(p)
}

// decodeAt returns the byte that starts at s[i] once percent-decoded, and
// how many bytes of s it took.
func decodeAt(s string, i int) (byte, int) {
	if s[i] == '%' && i+2 < len(s) {
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if ok1 && ok2 {
			return hi<<4 | lo, 3
		}
	}
	return s[i], 1
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func ishex(c byte) bool {
	_, ok := unhex(c)
	return ok
}

// lower folds an ASCII upper-case letter to lower case and leaves every
// other byte alone, so UTF-8 sequences pass through untouched.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldLower reports whether s equals lit, which is already lower case,
// ignoring ASCII case.
func equalFoldLower(lit, s string) bool {
	if len(lit) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lit[i] {
			return false
		}
	}
	return true
}
