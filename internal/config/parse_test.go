package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestParseMatcher(t *testing.T) {
	tests := []struct {
		in      string
		grpc    bool
		want    [][2]int
		wantErr string
	}{
		{"200", false, [][2]int{{200, 200}}, ""},
		{"200,404", false, [][2]int{{200, 200}, {404, 404}}, ""},
		{"200-299", false, [][2]int{{200, 299}}, ""},
		{"200-299, 404", false, [][2]int{{200, 299}, {404, 404}}, ""},
		{"12", true, [][2]int{{12, 12}}, ""},
		{"0-99", true, [][2]int{{0, 99}}, ""},
		{"", false, nil, `"" is not a status code`},
		{"200,", false, nil, `"" is not a status code`},
		{"2xx", false, nil, `"2xx" is not a status code`},
		{"+200", false, nil, `"+200" is not a status code`},
		{"199", false, nil, "code 199 is outside 200–499"},
		{"500", false, nil, "code 500 is outside 200–499"},
		{"100", true, nil, "code 100 is outside 0–99"},
		{"299-200", false, nil, "range 299-200 is backwards"},
		{"200-300-400", false, nil, `"300-400" is not a status code`},
	}
	for _, tt := range tests {
		got, err := ParseMatcher(tt.in, tt.grpc)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseMatcher(%q, %v) error = %v, want %q", tt.in, tt.grpc, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMatcher(%q, %v) = %v, %v; want %v", tt.in, tt.grpc, got, err, tt.want)
		}
	}
}

func TestDurationText(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"60s", time.Minute, false},
		{"60", time.Minute, false},
		{"0", 0, false},
		{"1h30m", 90 * time.Minute, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{"250ms", 250 * time.Millisecond, false},
		{"7d", 0, true},
		{"1.5", 0, true},
		{"-1", 0, true},
		{"abc", 0, true},
		{"", 0, true},
		{"99999999999999999", 0, true},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if (err != nil) != tt.wantErr || d.D() != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, error %v", tt.in, d, err, tt.want, tt.wantErr)
		}
	}
	if b, _ := Duration(90 * time.Second).MarshalText(); string(b) != "1m30s" {
		t.Errorf("MarshalText = %s", b)
	}
}

// TestDurationYAML pins that goccy decodes Duration through UnmarshalText
// from strings and from bare integers alike.
func TestDurationYAML(t *testing.T) {
	var v struct {
		A Duration  `yaml:"a"`
		B Duration  `yaml:"b"`
		C *Duration `yaml:"c"`
		D Duration  `yaml:"d"`
	}
	src := "a: 60s\nb: 60\nc: \"90\"\nd: 1_000\n"
	if err := yaml.UnmarshalWithOptions([]byte(src), &v, yaml.Strict()); err != nil {
		t.Fatal(err)
	}
	if v.A.D() != time.Minute || v.B.D() != time.Minute || v.C.D() != 90*time.Second || v.D.D() != 1000*time.Second {
		t.Errorf("decoded %v %v %v %v", v.A, v.B, *v.C, v.D)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "sluice.yaml", Line: 12, Col: 19, Field: "load_balancers[0].listeners[0].port", Value: "70000", Msg: "70000 is out of range (1–65535)"},
			"sluice.yaml:12:19: load_balancers[0].listeners[0].port: 70000 is out of range (1–65535)"},
		{Error{Field: "version", Msg: "missing"}, "version: missing"},
		{Error{File: "a.yaml", Line: 1, Col: 2, Msg: "syntax"}, "a.yaml:1:2: syntax"},
		{Error{File: "a.yaml", Msg: "oops"}, "a.yaml: oops"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	l := ErrorList{{Line: 3, Msg: "c"}, {Line: 1, Col: 5, Msg: "b"}, {Line: 1, Col: 2, Msg: "a"}}
	if err := l.err(); err.Error() != "1:2: a\n1:5: b\n3:0: c" {
		t.Errorf("ErrorList = %q", err)
	}
	if ErrorList(nil).err() != nil {
		t.Error("empty ErrorList is a non-nil error")
	}
}
