package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every error it returns is
// an ErrorList naming a position, and that a config it accepts validates
// again, also after defaults are applied a second time.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	for _, file := range append(files, bad...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Decode("fuzz.yaml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Decode error %v is not a non-empty ErrorList", err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Col < 1 || e.Msg == "" || e.File != "fuzz.yaml" {
					t.Fatalf("error without position or message: %#v", e)
				}
				if strings.Contains(e.Msg, "the YAML decoder failed") {
					t.Fatalf("goccy panicked; make the schema check refuse this input first: %s", e)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config does not validate again: %v", err)
		}
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config does not validate after ApplyDefaults again: %v", err)
		}
	})
}
