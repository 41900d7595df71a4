package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found in a configuration file. It names where the
// problem is, which field it concerns, the offending value and what to do
// about it.
type Error struct {
	// File is the name the config was decoded under; empty for configs
	// built in memory.
	File string
	// Line and Col are 1-based; zero when the position is unknown, as for
	// configs built in memory.
	Line, Col int
	// Field is the path of the field, like
	// load_balancers[0].listeners[1].port; empty for YAML syntax errors.
	Field string
	// Value is the offending value as written, or "" when the field is
	// missing.
	Value string
	// Msg explains the problem in a sentence a user can act on; it quotes
	// Value where that helps.
	Msg string
}

// Error formats e as "file:line:col: field: message", leaving out the parts
// that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(":")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", e.Line, e.Col)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one configuration, sorted by
// position. Decode, Load and Validate return their errors as an ErrorList so
// that a user sees all problems at once.
type ErrorList []*Error

// Error joins the messages of all errors, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort orders l by line, column and field path, keeping the order errors
// were found in for ties.
func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), strings.Compare(a.Field, b.Field))
	})
}

// err returns l as an error, or nil when l is empty, so that callers never
// see a non-nil error holding no problems.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	return l
}

// FieldError builds an Error about field (a path such as
// certificates[0].cert_file) located in c's file, for problems found after
// validation, such as a certificate file that cannot be read.
func (c *Config) FieldError(field, value, msg string) *Error {
	pos := c.pos.lookup(field)
	return &Error{File: c.path, Line: pos.line, Col: pos.col, Field: field, Value: value, Msg: msg}
}
