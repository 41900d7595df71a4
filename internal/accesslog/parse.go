package accesslog

import (
	"fmt"
	"strings"
)

// ParseALB splits one line of ALB's access log format into its fields,
// keyed by the names in ALBFields, with quotes removed and \xHH escapes
// decoded. A trailing newline is ignored, and so are fields after the last
// one ALBFields names, as AWS asks of readers. It is strict about the rest:
// a missing field, a field quoted where ALB does not quote it (or the
// reverse), a stray '"' or '\', or an unknown escape is an error, so tests
// can use it to check what AppendALB writes.
func ParseALB(line string) (map[string]string, error) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	m := make(map[string]string, numFields)
	rest := line
	for f := range numFields {
		name := fieldTable[f].name
		if f > 0 {
			if rest == "" {
				return nil, fmt.Errorf("accesslog: line ends after %d fields, want %d (next is %s)", f, numFields, name)
			}
			if rest[0] != ' ' {
				return nil, fmt.Errorf("accesslog: field %s: want a space before it, have %q", name, clip(rest))
			}
			rest = rest[1:]
		}
		var raw string
		if fieldTable[f].quoted {
			if rest == "" || rest[0] != '"' {
				return nil, fmt.Errorf("accesslog: field %s: want a quoted value, have %q", name, clip(rest))
			}
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("accesslog: field %s: unterminated quote", name)
			}
			raw, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			raw, rest = rest[:end], rest[end:]
			if strings.IndexByte(raw, '"') >= 0 {
				return nil, fmt.Errorf("accesslog: field %s: unexpected quote in %q", name, clip(raw))
			}
		}
		if raw == "" {
			return nil, fmt.Errorf("accesslog: field %s is empty", name)
		}
		v, err := unescapeALB(raw)
		if err != nil {
			return nil, fmt.Errorf("accesslog: field %s: %w", name, err)
		}
		m[name] = v
	}
	if rest != "" && rest[0] != ' ' {
		return nil, fmt.Errorf("accesslog: want a space after the last field, have %q", clip(rest))
	}
	return m, nil
}

// unescapeALB decodes the \xHH escapes of a field.
func unescapeALB(s string) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		if len(s) < i+4 || s[i+1] != 'x' {
			return "", fmt.Errorf("bad escape %q", clip(s[i:]))
		}
		hi, ok1 := unhex(s[i+2])
		lo, ok2 := unhex(s[i+3])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad escape %q", s[i:i+4])
		}
		b.WriteByte(hi<<4 | lo)
		s = s[i+4:]
		i = strings.IndexByte(s, '\\')
	}
	b.WriteString(s)
	return b.String(), nil
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

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
