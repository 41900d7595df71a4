package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigs decodes every file in testdata/bad. Each file starts with one
// "# want: LINE:COL TEXT" line per error it must produce: the errors must be
// exactly these, at these positions, each containing its TEXT.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wants := parseWants(t, data)
			_, err = Decode(file, data)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Decode returned %v, want an ErrorList", err)
			}
			if len(list) != len(wants) {
				t.Fatalf("got %d errors, want %d:\n%v", len(list), len(wants), err)
			}
			for i, w := range wants {
				e := list[i]
				if got := fmt.Sprintf("%d:%d", e.Line, e.Col); got != w.pos || !strings.Contains(e.Error(), w.text) {
					t.Errorf("error %d:\n got %s\nwant %s: …%s…", i, e, w.pos, w.text)
				}
				if !strings.HasPrefix(e.Error(), file+":"+w.pos+": ") {
					t.Errorf("error %d does not start with file:line:col: %s", i, e)
				}
			}
		})
	}
}

type want struct{ pos, text string }

func parseWants(t *testing.T, data []byte) []want {
	var wants []want
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "# want: ")
		if !ok {
			break
		}
		pos, text, _ := strings.Cut(rest, " ")
		wants = append(wants, want{pos, text})
	}
	if len(wants) == 0 {
		t.Fatal("file has no # want: line")
	}
	return wants
}
