package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"
)

func BenchmarkLinesOnly(b *testing.B) {
	for b.Loop() {
		s := benchRequest
		n := 0
		for {
			i := bytes.IndexByte(s, '\n')
			if i <= 1 {
				break
			}
			n++
			s = s[i+1:]
		}
	}
}

func BenchmarkNetHTTP(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		http.ReadRequest(bufio.NewReader(bytes.NewReader(benchRequest)))
	}
}
