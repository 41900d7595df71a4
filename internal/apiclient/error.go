package apiclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Error is an answer of the API with a status other than 2xx, decoded from
// its body {"error": {"code", "message", "fields"}}.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the API's error code (ValidationError, NotFound, FileManaged,
	// ...); empty when the body was not the API's error JSON, as from a
	// proxy in between.
	Code string
	// Message is one sentence for a person.
	Message string
	// Fields names the fields at fault, for ValidationError.
	Fields []FieldError
}

// FieldError is one field's problem in a ValidationError.
type FieldError struct {
	// Field is the path of the field in the request body, like
	// "health_check.interval".
	Field string `json:"field"`
	// Value is the value refused, as sent; nil when the API left it out.
	Value any `json:"value,omitempty"`
	// Message says what is wrong with it.
	Message string `json:"message"`
}

// Error is the message, then one indented line per field; a field line
// the message already says is left out.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		line := f.Message
		if f.Field != "" {
			line = f.Field + ": " + f.Message
		}
		if f.Message == e.Message || strings.HasPrefix(e.Message, line) {
			continue
		}
		b.WriteString("\n  " + line)
	}
	return b.String()
}

// decodeError makes an *Error of a non-2xx answer, whatever its body.
func decodeError(status int, body []byte) *Error {
	var wire struct {
		Error *struct {
			Code    string       `json:"code"`
			Message string       `json:"message"`
			Fields  []FieldError `json:"fields"`
		} `json:"error"`
	}
	e := &Error{Status: status}
	if json.Unmarshal(body, &wire) == nil && wire.Error != nil {
		e.Code, e.Message, e.Fields = wire.Error.Code, wire.Error.Message, wire.Error.Fields
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("the admin API answered %d %s", status, http.StatusText(status))
		if e.Code == "" {
			if s := snippet(body); s != "" {
				e.Message += ": " + s
			}
		}
	}
	return e
}

// snippet is the start of a body that is not the API's JSON, on one line.
func snippet(body []byte) string {
	if !utf8.Valid(body) {
		return ""
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
