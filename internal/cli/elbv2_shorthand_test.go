package cli

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseShorthand(t *testing.T) {
	tests := []struct {
		in   string
		want shStruct
	}{
		{"Key=a", shStruct{{"Key", "a"}}},
		{"Key=a,Value=b", shStruct{{"Key", "a"}, {"Value", "b"}}},
		{" Key = a , Value = b ", shStruct{{"Key", "a"}, {"Value", "b"}}},
		{"Values=[/a/*,/b/*]", shStruct{{"Values", []any{"/a/*", "/b/*"}}}},
		{"Values=[]", shStruct{{"Values", []any{}}}},
		{"Values=/a,/b,Field=x", shStruct{{"Values", shBare{vals: []any{"/a", "/b"}, joined: "/a,/b"}}, {"Field", "x"}}},
		{"MessageBody=down, back soon", shStruct{{"MessageBody", shBare{vals: []any{"down", "back soon"}, joined: "down, back soon"}}}},
		{`MessageBody="a, b",Type=x`, shStruct{{"MessageBody", "a, b"}, {"Type", "x"}}},
		{`MessageBody='say "hi"'`, shStruct{{"MessageBody", `say "hi"`}}},
		{`MessageBody="say \"hi\""`, shStruct{{"MessageBody", `say "hi"`}}},
		{`Path=/a\,b`, shStruct{{"Path", "/a,b"}}},
		{"Values=[k=v,=w,x]", shStruct{{"Values", []any{"k=v", "=w", "x"}}}},
		{"Values=a=b", shStruct{{"Values", "a=b"}}},
		{"C={Values=[{Key=k,Value=v}]}", shStruct{{"C", shStruct{{"Values", []any{shStruct{{"Key", "k"}, {"Value", "v"}}}}}}}},
		{"C={}", shStruct{{"C", shStruct(nil)}}},
		{"Host=#{host},Path=/x/#{path}", shStruct{{"Host", "#{host}"}, {"Path", "/x/#{path}"}}},
		{"R={Host=#{host},Port=1}", shStruct{{"R", shStruct{{"Host", "#{host}"}, {"Port", "1"}}}}},
		{"Id=127.0.0.1,Port=8081", shStruct{{"Id", "127.0.0.1"}, {"Port", "8081"}}},
		{"RuleArn=web:443:a,Priority=2", shStruct{{"RuleArn", "web:443:a"}, {"Priority", "2"}}},
		{"Key=", shStruct{{"Key", ""}}},
	}
	for _, tt := range tests {
		got, err := parseShorthand(tt.in)
		if err != nil {
			t.Errorf("parseShorthand(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseShorthand(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseShorthandErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "expected Key=Value at the end"},
		{"plain", `expected Key=Value at "plain"`},
		{"Key=a,", "expected Key=Value at the end"},
		{"Values=[a,b", "missing ']' at the end"},
		{"C={K=v", `missing '}' at the end`},
		{`K="open`, "missing closing \" at the end"},
		{"K=a]", `unexpected ']'`},
		{"K=[a]x", `unexpected 'x' at "x"`},
		{"=v", `expected Key=Value at "=v"`},
	}
	for _, tt := range tests {
		_, err := parseShorthand(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseShorthand(%q) error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestSplitTopLevel(t *testing.T) {
	tests := []struct {
		in     string
		commas bool
		want   []string
	}{
		{"Id=a,Port=1 Id=b,Port=2", false, []string{"Id=a,Port=1", "Id=b,Port=2"}},
		{"a,b c", true, []string{"a", "b", "c"}},
		{`Key=a,Value="x y"`, false, []string{`Key=a,Value="x y"`}},
		{"C={A=1, B=2} D=[1, 2]", false, []string{"C={A=1, B=2}", "D=[1, 2]"}},
		{`[{"Id": "a"}]`, true, []string{`[{"Id": "a"}]`}},
	}
	for _, tt := range tests {
		var got []string
		for _, w := range splitTopLevel(tt.in, tt.commas) {
			if w != "" {
				got = append(got, w)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitTopLevel(%q, %v) = %q, want %q", tt.in, tt.commas, got, tt.want)
		}
	}
}

func TestHostPortTarget(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]any
	}{
		{"127.0.0.1:8081", map[string]any{"id": "127.0.0.1", "port": 8081}},
		{"app.internal", map[string]any{"id": "app.internal"}},
		{"[::1]:80", map[string]any{"id": "::1", "port": 80}},
		{"[::1]", map[string]any{"id": "::1"}},
		{"fd00::5", map[string]any{"id": "fd00::5"}},
	}
	for _, tt := range tests {
		got, err := hostPortTarget(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("hostPortTarget(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"a:0", "a:x", "[::1", "[::1]x", ""} {
		if _, err := hostPortTarget(bad); err == nil {
			t.Errorf("hostPortTarget(%q) took it", bad)
		}
	}
}

// FuzzShorthand checks that no input crashes or hangs the shorthand parser
// and the mappings built on it.
func FuzzShorthand(f *testing.F) {
	for _, s := range []string{
		"Field=path-pattern,Values=[/a/*,/b/*]",
		"Field=http-header,HttpHeaderName=X,Values=[a]",
		"Field=query-string,QueryStringConfig={Values=[{Key=k,Value=v}]}",
		"Type=forward,ForwardConfig={TargetGroups=[{TargetGroupArn=a,Weight=1}],TargetGroupStickinessConfig={Enabled=true,DurationSeconds=60}}",
		"Type=redirect,Host=#{host},Path=/#{path},StatusCode=301",
		`Type=fixed-response,MessageBody="a, \"b\"",StatusCode=503`,
		"Key=stickiness.enabled,Value=true",
		"Id=a,Port=1 Id=b",
		"#{", "[{", "\\", "K=\\", "K=#{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "file") {
			return // file:// reads files; not this fuzzer's business
		}
		if st, err := parseShorthand(s); err == nil {
			mapCondition(append(shStruct{}, st...))
			mapAction(append(shStruct{}, st...))
			mapTarget(append(shStruct{}, st...))
		}
		mapAttributes(tgAttrKeys, splitTopLevel(s, false))
		parseTargets(&listFlag{vals: []string{s}})
		parseRulePriorities(&listFlag{vals: []string{s}})
		parseItems([]string{s}, mapAction)
	})
}
