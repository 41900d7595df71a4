package h1

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestTallyCorpus(t *testing.T) {
	dir := os.Getenv("CORPUS")
	if dir == "" {
		t.Skip()
	}
	files, _ := filepath.Glob(dir + "/*")
	tally := map[string]int{}
	ex := map[string]string{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.SplitN(string(b), "\n", 3)
		s := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		u, err := strconv.Unquote(s)
		if err != nil {
			continue
		}
		in := []byte(u)
		var r Request
		_, err = ParseRequest(in, &r, Limits{})
		ours := err == nil && r.Class != Severe
		_, herr := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		key := ""
		switch {
		case ours && herr == nil:
			key = "both " + r.Reason.String()
		case ours:
			key = "ours-only " + r.Reason.String() + " / " + acceptedOnlyBySluice(in, &r)
		case herr == nil:
			key = fmt.Sprintf("theirs-only %v %v", err, r.Reason)
		default:
			key = "neither"
		}
		tally[key]++
		ex[key] = u
	}
	for k, v := range tally {
		fmt.Printf("%5d %s   e.g. %q\n", v, k, ex[k])
	}
}
