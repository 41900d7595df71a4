package config

import (
	"strconv"
	"strings"
)

// position is a 1-based line and column in the config file.
type position struct{ line, col int }

// positions maps field paths, as used in Error.Field, to where their value
// starts in the file. The root mapping has the path "".
type positions map[string]position

// lookup finds the position of field, or of its closest ancestor present in
// the file when the field itself is missing, so that an error about a
// missing key points at the mapping that should hold it.
func (p positions) lookup(field string) position {
	for {
		if pos, ok := p[field]; ok {
			return pos
		}
		if field == "" {
			return position{}
		}
		field = parentPath(field)
	}
}

// parentPath strips the last ".name" or "[i]" from field.
func parentPath(field string) string {
	i := strings.LastIndexAny(field, ".[")
	if i < 0 {
		return ""
	}
	return field[:i]
}

// has reports whether field was written in the file.
func (p positions) has(field string) bool {
	_, ok := p[field]
	return ok
}

// reorder renames the entries of list, a sequence's path, after the
// sequence was permuted: the element first at perm[i] is now at i.
func (p positions) reorder(list string, perm []int) {
	if len(p) == 0 {
		return
	}
	moved := positions{}
	for k, pos := range p {
		rest, ok := strings.CutPrefix(k, list+"[")
		if !ok {
			continue
		}
		n, tail, ok := strings.Cut(rest, "]")
		if !ok {
			continue
		}
		old, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		for i, from := range perm {
			if from == old {
				moved[index(list, i)+tail] = pos
			}
		}
		delete(p, k)
	}
	for k, pos := range moved {
		p[k] = pos
	}
}

// index returns the path of element i of the sequence at list.
func index(list string, i int) string { return list + "[" + strconv.Itoa(i) + "]" }

// child returns the path of key name of the mapping at parent.
func child(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}
