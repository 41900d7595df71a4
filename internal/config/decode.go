package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Load reads the config file at path, decodes it, applies defaults and
// validates it. Problems in the file are returned as an ErrorList.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Decode(path, data)
}

// Decode is Load for a config already in memory. Name is used in error
// messages and to resolve relative paths (see Resolve). Unknown keys and
// values of the wrong type are errors. Problems are returned as an
// ErrorList.
func Decode(name string, data []byte) (*Config, error) {
	c, err := DecodeRaw(name, data)
	if err != nil {
		return nil, err
	}
	if err := c.Finish(); err != nil {
		return nil, err
	}
	return c, nil
}

// Finish applies defaults and validates: what Decode does after decoding.
// Configs assembled from parts (the file plus what the admin API created)
// are finished once assembled.
func (c *Config) Finish() error {
	c.ApplyDefaults()
	return c.Validate()
}

// DecodeRaw decodes and checks the schema like Decode, but applies no
// defaults and does not validate: the config is as the user wrote it.
func DecodeRaw(name string, data []byte) (*Config, error) {
	var file *ast.File
	if err := guard(name, func() (err error) {
		file, err = parser.ParseBytes(data, 0)
		return err
	}); err != nil {
		return nil, ErrorList{err}
	}
	var body ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			p := nodePos(doc.Body)
			if tk := doc.Start; tk != nil {
				p = position{tk.Position.Line, tk.Position.Column}
			}
			return nil, ErrorList{{File: name, Line: p.line, Col: p.col, Msg: "a second YAML document; a config file holds exactly one, remove the '---' and what follows"}}
		}
		body = doc.Body
	}
	if err := checkVersion(name, body); err != nil {
		return nil, err
	}
	s := &schemaChecker{file: name, pos: positions{}}
	s.check(body, reflect.TypeFor[Config](), "")
	if err := s.errs.err(); err != nil {
		return nil, err
	}
	var c Config
	if err := guard(name, func() error {
		return yaml.UnmarshalWithOptions(data, &c, yaml.Strict())
	}); err != nil {
		return nil, ErrorList{err}
	}
	unshare(reflect.ValueOf(&c).Elem())
	c.path = name
	c.pos = s.pos
	return &c, nil
}

// DecodeFragment decodes data, JSON or YAML holding one value of v's type
// (a pointer to a config type, or to a struct that inlines one), strictly:
// unknown keys and values of the wrong type are reported, all at once, as an
// ErrorList whose fields are paths inside the fragment. The admin API
// decodes request bodies with it.
func DecodeFragment(data []byte, v any) error {
	var file *ast.File
	if err := guard("", func() (err error) {
		file, err = parser.ParseBytes(data, 0)
		return err
	}); err != nil {
		return ErrorList{err}
	}
	var body ast.Node
	if len(file.Docs) > 0 && file.Docs[0] != nil {
		body = file.Docs[0].Body
	}
	if body == nil {
		return ErrorList{{Msg: "the request body is empty; send a JSON object"}}
	}
	s := &schemaChecker{pos: positions{}}
	s.check(body, reflect.TypeOf(v).Elem(), "")
	if err := s.errs.err(); err != nil {
		return err
	}
	if err := guard("", func() error {
		return yaml.UnmarshalWithOptions(data, v, yaml.Strict())
	}); err != nil {
		return ErrorList{err}
	}
	unshare(reflect.ValueOf(v).Elem())
	return nil
}

// Clone returns a deep copy of c that keeps its file name and positions.
func (c *Config) Clone() *Config {
	cp := *c
	unshare(reflect.ValueOf(&cp).Elem())
	if c.pos != nil {
		cp.pos = make(positions, len(c.pos))
		for k, v := range c.pos {
			cp.pos[k] = v
		}
	}
	return &cp
}

// Marshal writes c as a config file: YAML with the keys the user set (zero
// values left out), that Decode reads back into an equal config.
func Marshal(c *Config) ([]byte, error) {
	return yaml.MarshalWithOptions(c, yaml.IndentSequence(true))
}

// guard runs f, a call into goccy, and turns its error into an *Error. The
// schema check refuses what goccy is known to mishandle; should goccy still
// panic, the panic becomes an error too, so that a bad file cannot crash the
// process that reads it.
func guard(name string, f func() error) (err *Error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{File: name, Line: 1, Col: 1, Msg: fmt.Sprintf("the YAML decoder failed on this file (%v); simplify the YAML (anchors, aliases, merge keys) and report the file to sluice's developers", r)}
		}
	}()
	if e := f(); e != nil {
		return yamlError(name, e)
	}
	return nil
}

// checkVersion refuses a file without "version: 1" before anything else is
// looked at: the rest of a file written for another version cannot be
// interpreted.
func checkVersion(name string, body ast.Node) error {
	fail := func(n ast.Node, value, msg string) error {
		p := nodePos(n)
		if p.line == 0 {
			p = position{1, 1}
		}
		return ErrorList{{File: name, Line: p.line, Col: p.col, Field: "version", Value: value, Msg: msg}}
	}
	if body == nil {
		return fail(nil, "", "missing; add \"version: 1\" as the first line of the file")
	}
	m, ok := unwrap(body).(*ast.MappingNode)
	if !ok {
		return fail(body, "", "the file is not a sluice config; it must be a mapping that starts with \"version: 1\"")
	}
	for _, mv := range m.Values {
		if keyName(mv.Key) != "version" {
			continue
		}
		v, ok := unwrap(mv.Value).(*ast.IntegerNode)
		if !ok || fmt.Sprint(v.Value) != "1" {
			return fail(mv.Value, scalarText(unwrap(mv.Value)), fmt.Sprintf("%s is not a supported version; this build of sluice reads version 1", describe(unwrap(mv.Value))))
		}
		return nil
	}
	return fail(body, "", "missing; add \"version: 1\" as the first line of the file")
}

// yamlError turns an error from goccy into an *Error that names the file,
// line and column and keeps the message to one line.
func yamlError(name string, err error) *Error {
	e := &Error{File: name, Msg: err.Error()}
	var ye yaml.Error
	if errors.As(err, &ye) {
		e.Msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
			e.Value = tk.Value
		}
	}
	e.Msg, _, _ = strings.Cut(e.Msg, "\n")
	return e
}

// Resolve returns p resolved against the folder of the config file when p is
// relative, and p unchanged when it is absolute or the config was not read
// from a file.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(c.path), p)
}

// unshare gives every pointer and slice reachable from v its own copy. goccy
// decodes every use of a YAML alias into the same pointer or backing array,
// but defaults depend on the owner (a health check's protocol follows its
// group's) and action lists are sorted in place.
func unshare(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		cp := reflect.New(v.Type().Elem())
		cp.Elem().Set(v.Elem())
		unshare(cp.Elem())
		v.Set(cp)
	case reflect.Slice:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			unshare(cp.Index(i))
		}
		v.Set(cp)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				unshare(v.Field(i))
			}
		}
	}
}
