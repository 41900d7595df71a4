package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// schemaChecker walks the YAML tree alongside the Go types it decodes into.
// It records where every field is, for validation errors, and reports the
// problems goccy would report one at a time, or not at all (a 1.5 silently
// truncated into an int), all at once and with the field's path.
type schemaChecker struct {
	file string
	pos  positions
	errs ErrorList
}

var durationType = reflect.TypeFor[Duration]()

func (s *schemaChecker) add(n ast.Node, field, value, msg string) {
	p := nodePos(n)
	s.errs = append(s.errs, &Error{File: s.file, Line: p.line, Col: p.col, Field: field, Value: value, Msg: msg})
}

// check verifies that node fits t and records the positions of node and
// everything below it under path.
func (s *schemaChecker) check(node ast.Node, t reflect.Type, path string) {
	node = unwrap(node)
	if node == nil {
		return
	}
	if tag, ok := node.(*ast.TagNode); ok {
		// A sluice config has no use for tags, and goccy mishandles some.
		s.add(tag, path, tag.Start.Value, fmt.Sprintf("YAML tags such as %s are not supported; remove it, and quote the value if it must be a string", tag.Start.Value))
		return
	}
	if _, ok := node.(*ast.NullNode); ok {
		return // Null leaves the zero value; the key's position is recorded.
	}
	if _, ok := node.(*ast.AliasNode); ok {
		s.pos[path] = nodePos(node)
		return // goccy resolves aliases and checks what they point at.
	}
	s.pos[path] = nodePos(node)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		s.checkDuration(node, path)
	case t.Kind() == reflect.Struct:
		s.checkStruct(node, t, path)
	case t.Kind() == reflect.Slice:
		seq, ok := node.(*ast.SequenceNode)
		if !ok {
			s.add(node, path, scalarText(node), fmt.Sprintf("%s is not a list; write a YAML list, like [a, b] or lines starting with '- '", describe(node)))
			return
		}
		for i, v := range seq.Values {
			s.check(v, t.Elem(), index(path, i))
		}
	case t.Kind() == reflect.Int:
		if _, ok := node.(*ast.IntegerNode); !ok {
			s.add(node, path, scalarText(node), fmt.Sprintf("%s is not a whole number; write digits without quotes", describe(node)))
		}
	case t.Kind() == reflect.Bool:
		if _, ok := node.(*ast.BoolNode); !ok {
			s.add(node, path, scalarText(node), fmt.Sprintf("%s is not a boolean; write true or false without quotes", describe(node)))
		}
	case t.Kind() == reflect.String:
		if !isScalar(node) {
			s.add(node, path, "", fmt.Sprintf("%s is not a string; write a single value", describe(node)))
		}
	}
}

func (s *schemaChecker) checkDuration(node ast.Node, path string) {
	var text string
	switch n := node.(type) {
	case *ast.IntegerNode:
		text = fmt.Sprint(n.Value)
	case *ast.StringNode:
		text = n.Value
	default:
		s.add(node, path, scalarText(node), fmt.Sprintf("%s is not a duration; write it like \"30s\", \"5m\" or \"24h\", or as a whole number of seconds", describe(node)))
		return
	}
	var d Duration
	if err := d.UnmarshalText([]byte(text)); err != nil {
		s.add(node, path, text, err.Error())
	}
}

func (s *schemaChecker) checkStruct(node ast.Node, t reflect.Type, path string) {
	m, ok := node.(*ast.MappingNode)
	if !ok {
		s.add(node, path, scalarText(node), fmt.Sprintf("%s is not a mapping; write key: value pairs", describe(node)))
		return
	}
	fields := yamlFields(t)
	for _, mv := range m.Values {
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			continue // goccy merges and checks the merged keys.
		}
		name := keyName(mv.Key)
		f, ok := fields[name]
		if !ok {
			s.add(mv.Key, child(path, name), name, unknownField(name, fields))
			continue
		}
		fp := child(path, name)
		s.pos[fp] = nodePos(mv.Key)
		s.check(mv.Value, f.Type, fp)
	}
}

// unknownField explains an unknown key, suggesting the closest known one.
func unknownField(name string, fields map[string]reflect.StructField) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field %q; did you mean %q?", name, best)
	}
	return fmt.Sprintf("unknown field %q; remove it or use one of: %s", name, strings.Join(known, ", "))
}

// yamlFields maps the yaml names of t's exported fields to the fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" && opts == "inline" && f.Type.Kind() == reflect.Struct {
			// Wrappers that add keys to a config type inline it.
			for k, v := range yamlFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f
	}
	return fields
}

// unwrap strips anchors, which do not change what a node holds.
func unwrap(n ast.Node) ast.Node {
	for {
		a, ok := n.(*ast.AnchorNode)
		if !ok {
			return n
		}
		n = a.Value
	}
}

// nodePos returns where n starts. A block mapping's own token is its first
// ':', so the position of its first key is used instead.
func nodePos(n ast.Node) position {
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	if n == nil || n.GetToken() == nil {
		return position{}
	}
	p := n.GetToken().Position
	return position{p.Line, p.Column}
}

func keyName(k ast.MapKeyNode) string {
	if s, ok := unwrap(k).(*ast.StringNode); ok {
		return s.Value
	}
	return k.String()
}

func isScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.SequenceNode, *ast.MappingValueNode:
		return false
	}
	return true
}

// scalarText is a scalar node's text as written, or "" for collections.
func scalarText(n ast.Node) string {
	if !isScalar(n) {
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// describe names what a node holds for an error message.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return fmt.Sprintf("the string %q", scalarText(n))
	}
	return scalarText(n)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
