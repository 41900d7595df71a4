package config

import (
	"os"
	"reflect"
	"testing"
)

// TestMarshalRoundTrip checks that Marshal writes a file Decode reads back
// into the same configuration, both as written and with defaults filled in
// (export writes the latter for resources the admin API created).
func TestMarshalRoundTrip(t *testing.T) {
	raw, err := DecodeRaw("testdata/example.yaml", mustRead(t, "testdata/example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Config{"raw": raw, "defaulted": want} {
		t.Run(name, func(t *testing.T) {
			out, err := Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode("testdata/example.yaml", out)
			if err != nil {
				t.Fatalf("re-decoding the marshalled config: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(got.LoadBalancers, want.LoadBalancers) ||
				!reflect.DeepEqual(got.TargetGroups, want.TargetGroups) ||
				!reflect.DeepEqual(got.Certificates, want.Certificates) {
				t.Errorf("round trip changed the config:\n%s", out)
			}
		})
	}
}

func TestDecodeFragment(t *testing.T) {
	type wrapped struct {
		Listener string `yaml:"listener"`
		Rule     `yaml:",inline"`
	}
	var w wrapped
	err := DecodeFragment([]byte(`{"listener":"web:80","name":"chat","priority":5,"conditions":[{"field":"path-pattern","values":["/chat/*"]}]}`), &w)
	if err != nil {
		t.Fatal(err)
	}
	if w.Listener != "web:80" || w.Name != "chat" || w.Priority != 5 || w.Conditions[0].Values[0] != "/chat/*" {
		t.Errorf("decoded %+v", w)
	}
	err = DecodeFragment([]byte(`{"listener":"web:80","priorty":5,"conditions":"x"}`), &w)
	list, ok := err.(ErrorList)
	if !ok || len(list) != 2 {
		t.Fatalf("err = %v, want two problems", err)
	}
	if list[0].Field != "priorty" || list[1].Field != "conditions" {
		t.Errorf("fields = %q, %q", list[0].Field, list[1].Field)
	}
	if err := DecodeFragment([]byte(``), &w); err == nil {
		t.Error("empty body accepted")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestShortIntervalOneProblem: an interval below the range is reported
// alone, not also the timeout defaulted from it.
func TestShortIntervalOneProblem(t *testing.T) {
	_, err := Decode("x.yaml", []byte(`version: 1
target_groups:
  - name: app
    protocol: HTTP
    port: 80
    health_check: { interval: 1s }
`))
	list, ok := err.(ErrorList)
	if !ok || len(list) != 1 || list[0].Field != "target_groups[0].health_check.interval" {
		t.Fatalf("err = %v, want one problem with the interval", err)
	}
}
