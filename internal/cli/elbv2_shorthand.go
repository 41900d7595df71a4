package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// listFlag is a flag that may be given several times, and (see
// verbSet.parse) take several arguments after it, as aws's list
// parameters do.
type listFlag struct{ vals []string }

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.vals, " ")
}

func (l *listFlag) Set(s string) error {
	l.vals = append(l.vals, s)
	return nil
}

// words returns the values split at white space outside quotes and
// brackets, and at top-level commas too when commas is set: the aws forms
// "--targets 'Id=a Id=b'" and "--names a,b".
func (l *listFlag) words(commas bool) []string {
	var out []string
	for _, v := range l.vals {
		for _, w := range splitTopLevel(v, commas) {
			if w != "" {
				out = append(out, w)
			}
		}
	}
	return out
}

// splitTopLevel splits s at spaces (and commas when commas is set) that are
// outside quotes, brackets and braces. A value starting with [ or { is
// JSON and kept whole.
func splitTopLevel(s string, commas bool) []string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") || strings.HasPrefix(s, "file://") {
		return []string{s}
	}
	var out []string
	depth, start := 0, 0
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '{':
			depth++
		case (r == ']' || r == '}') && depth > 0:
			depth--
		case depth == 0 && (r == ' ' || r == '\t' || r == '\n' || r == '\r' || commas && r == ','):
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// readFileArg replaces a file://PATH or fileb://PATH value by the file's
// content, as aws does.
func readFileArg(s string) (string, bool, error) {
	for _, prefix := range []string{"file://", "fileb://"} {
		if path, ok := strings.CutPrefix(s, prefix); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", true, err
			}
			return string(b), true, nil
		}
	}
	return s, false, nil
}

// shPair is one Key=Value of aws shorthand. The value is a string, a
// []any of values, or a shStruct.
type shPair struct {
	key string
	val any
}

// shStruct is a parsed "Key=Value,Key=Value"; keys keep their order and are
// matched case-insensitively.
type shStruct []shPair

// parseShorthand parses aws CLI shorthand syntax:
//
//	Key=value,Key=[v1,v2],Key={K=v,K=v},Key="quoted, with comma"
//
// A bare value after a comma continues the previous key's value as a list
// (Values=/a,/b), as in aws. A backslash escapes the next character of an
// unquoted value.
func parseShorthand(s string) (shStruct, error) {
	p := &shParser{s: s}
	st, err := p.structure(0)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.i])
	}
	return st, nil
}

type shParser struct {
	s string
	i int
}

func (p *shParser) errorf(format string, args ...any) error {
	at := p.s[min(p.i, len(p.s)):]
	if len(at) > 30 {
		at = at[:30] + "…"
	}
	msg := fmt.Sprintf(format, args...)
	if at == "" {
		return fmt.Errorf("%s at the end", msg)
	}
	return fmt.Errorf("%s at %q", msg, at)
}

func (p *shParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *shParser) spaces() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// structure parses pairs up to closing ('}'; 0 at the top level), which
// it consumes.
func (p *shParser) structure(closing byte) (shStruct, error) {
	var st shStruct
	for {
		p.spaces()
		if closing != 0 && p.peek() == closing && len(st) == 0 {
			p.i++
			return st, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != '=' {
			if strings.IndexByte(",[]{}\"'", p.s[p.i]) >= 0 {
				break
			}
			p.i++
		}
		key := strings.TrimSpace(p.s[start:p.i])
		if p.peek() != '=' || key == "" {
			p.i = start
			return nil, p.errorf("expected Key=Value")
		}
		p.i++
		val, err := p.value(closing)
		if err != nil {
			return nil, err
		}
		st = append(st, shPair{key, val})
		p.spaces()
		switch c := p.peek(); {
		case c == ',':
			p.i++
		case closing != 0 && c == closing:
			p.i++
			return st, nil
		case c == 0 && closing == 0:
			return st, nil
		case c == 0:
			return nil, p.errorf("missing %q", closing)
		default:
			return nil, p.errorf("unexpected %q", c)
		}
	}
}

// value parses a pair's value; a run of bare values becomes a list.
func (p *shParser) value(closing byte) (any, error) {
	p.spaces()
	switch p.peek() {
	case '[':
		p.i++
		return p.list()
	case '{':
		p.i++
		return p.structure('}')
	}
	stops := ","
	if closing != 0 {
		stops = ",}"
	}
	first, err := p.scalar(stops)
	if err != nil {
		return nil, err
	}
	pieces := []string{first}
	for p.peek() == ',' && p.bareValueFollows(closing) {
		p.i++
		v, err := p.scalar(stops)
		if err != nil {
			return nil, err
		}
		pieces = append(pieces, v)
	}
	if len(pieces) == 1 {
		return strings.TrimSpace(first), nil
	}
	bare := shBare{joined: strings.TrimSpace(strings.Join(pieces, ","))}
	for _, piece := range pieces {
		bare.vals = append(bare.vals, strings.TrimSpace(piece))
	}
	return bare, nil
}

// shBare is a list written without brackets (Values=a,b): a list where a
// list is expected, and the text as written where one value is
// (MessageBody=down, back soon).
type shBare struct {
	vals   []any
	joined string
}

// shList returns v's elements when it is a list.
func shList(v any) ([]any, bool) {
	switch v := v.(type) {
	case []any:
		return v, true
	case shBare:
		return v.vals, true
	}
	return nil, false
}

// bareValueFollows reports whether the segment after the comma at p.i is a
// bare value rather than the next Key=.
func (p *shParser) bareValueFollows(closing byte) bool {
	rest := p.s[p.i+1:]
	rest = strings.TrimLeft(rest, " \t")
	if rest == "" || rest[0] == '[' || rest[0] == '{' {
		return false
	}
	if rest[0] == '"' || rest[0] == '\'' {
		return true
	}
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\\':
			i++
		case c == '=':
			return false
		case c == ',' || c == closing && closing != 0:
			return true
		}
	}
	return true
}

// list parses values up to ']'.
func (p *shParser) list() ([]any, error) {
	vals := []any{}
	p.spaces()
	if p.peek() == ']' {
		p.i++
		return vals, nil
	}
	for {
		p.spaces()
		var v any
		var err error
		switch p.peek() {
		case '{':
			p.i++
			v, err = p.structure('}')
		case '[':
			p.i++
			v, err = p.list()
		default:
			var sv string
			sv, err = p.scalar(",]")
			v = strings.TrimSpace(sv)
		}
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		p.spaces()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return vals, nil
		case 0:
			return nil, p.errorf("missing ']'")
		default:
			return nil, p.errorf("unexpected %q", p.peek())
		}
	}
}

// scalar parses a quoted or bare string ending before one of stops (or the
// end). Bare strings keep their spaces; callers trim them.
func (p *shParser) scalar(stops string) (string, error) {
	start := p.i
	p.spaces()
	if q := p.peek(); q == '"' || q == '\'' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			c := p.s[p.i]
			switch {
			case c == q:
				p.i++
				return b.String(), nil
			case c == '\\' && q == '"' && p.i+1 < len(p.s):
				p.i++
				b.WriteByte(p.s[p.i])
			default:
				b.WriteByte(c)
			}
		}
		return "", p.errorf("missing closing %c", q)
	}
	p.i = start
	var b strings.Builder
	for ; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		if strings.IndexByte(stops, c) >= 0 {
			break
		}
		if c == '#' && p.i+1 < len(p.s) && p.s[p.i+1] == '{' {
			// A redirect placeholder like #{host}: braces are literal.
			if end := strings.IndexByte(p.s[p.i:], '}'); end > 0 {
				b.WriteString(p.s[p.i : p.i+end+1])
				p.i += end
				continue
			}
		}
		if c == '\\' && p.i+1 < len(p.s) {
			p.i++
			c = p.s[p.i]
		} else if c == '[' || c == '{' || c == ']' || c == '}' {
			return "", p.errorf("unexpected %q (quote values holding brackets)", c)
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// take removes and returns the value of key (case-insensitive; '-' and
// '_' ignored), and whether it was there.
func (st *shStruct) take(keys ...string) (any, bool) {
	for i, p := range *st {
		for _, k := range keys {
			if normKey(p.key) == normKey(k) {
				*st = append((*st)[:i:i], (*st)[i+1:]...)
				return p.val, true
			}
		}
	}
	return nil, false
}

// rest returns an error naming the keys left untaken, if any.
func (st shStruct) rest(known ...string) error {
	if len(st) == 0 {
		return nil
	}
	var names []string
	for _, p := range st {
		names = append(names, p.key)
	}
	return fmt.Errorf("unknown key %s (known: %s)", strings.Join(names, ", "), strings.Join(known, ", "))
}

func normKey(k string) string {
	return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(k))
}

// fromJSON turns a decoded JSON object into a shStruct so that JSON and
// shorthand share one mapping. Numbers and booleans become strings.
func fromJSON(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		st := shStruct{}
		for _, k := range sortedKeys(v) {
			c, err := fromJSON(v[k])
			if err != nil {
				return nil, err
			}
			st = append(st, shPair{k, c})
		}
		return st, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := fromJSON(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", nil
	}
	return nil, fmt.Errorf("unexpected JSON value %v", v)
}

// decodeJSON decodes s keeping numbers as json.Number.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: more after the first value")
	}
	return v, nil
}

// structs parses each word as shorthand, or as JSON (an object or a list of
// objects) when it starts with { or [, into shStructs; file://PATH reads
// the word from a file.
func structs(words []string) ([]shStruct, error) {
	var out []shStruct
	for _, w := range words {
		w, fromFile, err := readFileArg(strings.TrimSpace(w))
		if err != nil {
			return nil, err
		}
		w = strings.TrimSpace(w)
		if !strings.HasPrefix(w, "{") && !strings.HasPrefix(w, "[") {
			if fromFile {
				// A file may hold several shorthand values, one a line.
				more, err := structs(strings.Fields(w))
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
				continue
			}
			st, err := parseShorthand(w)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", w, err)
			}
			out = append(out, st)
			continue
		}
		v, err := decodeJSON(w)
		if err != nil {
			return nil, err
		}
		c, err := fromJSON(v)
		if err != nil {
			return nil, err
		}
		items, ok := c.([]any)
		if !ok {
			items = []any{c}
		}
		for _, it := range items {
			st, ok := it.(shStruct)
			if !ok {
				return nil, fmt.Errorf("%s: expected JSON objects", w)
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// asString is v as one string.
func asString(key string, v any) (string, error) {
	if b, ok := v.(shBare); ok {
		return b.joined, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: expected one value, not a list or structure", key)
	}
	return s, nil
}

// asStrings is v as a list of strings: one string, or a list of them.
func asStrings(key string, v any) ([]string, error) {
	if s, ok := v.(string); ok {
		return []string{s}, nil
	}
	if list, ok := shList(v); ok {
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%s: expected a list of values", key)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: expected a value or a list of values", key)
}

// asInt is v as an integer.
func asInt(key string, v any) (int, error) {
	s, err := asString(key, v)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s=%s: expected a whole number", key, s)
	}
	return n, nil
}

// asBool is v as true or false.
func asBool(key string, v any) (bool, error) {
	s, err := asString(key, v)
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(strings.ToLower(s))
	if err != nil {
		return false, fmt.Errorf("%s=%s: expected true or false", key, s)
	}
	return b, nil
}

// secondsValue turns whole seconds into the API's duration form "30s".
func secondsValue(key, s string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return "", fmt.Errorf("%s=%s: expected a whole number of seconds", key, s)
	}
	return strconv.Itoa(n) + "s", nil
}

// durationValue accepts "90s", "1m30s" or "90" (seconds), as the config
// does, and returns the API form.
func durationValue(key, s string) (string, error) {
	s = strings.TrimSpace(s)
	if _, err := strconv.Atoi(s); err == nil {
		return secondsValue(key, s)
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return s, nil
	}
	return "", fmt.Errorf("%s=%s: expected a duration like 30s or 5m, or a number of seconds", key, s)
}

// idList splits list values given as "a,b", "a b" or repeated flags.
func idList(l *listFlag) []string { return l.words(true) }

func pathEscape(s string) string { return url.PathEscape(s) }

// setPath sets m[a][b]... = v, making the maps on the way.
func setPath(m map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}

// flatten lists an object's leaves as dotted keys, sorted.
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		out[prefix] = v
		return
	}
	for k, c := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		flatten(k, c, out)
	}
}
