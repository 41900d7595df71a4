package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Stream shape: streamLines lines, streamInterval apart.
const (
	streamLines    = 5
	streamInterval = 200 * time.Millisecond
)

// serveEcho writes the request back as text/plain, shaped like the request
// on the wire:
//
//	POST /echo?a=1 HTTP/1.1
//	Host: example.com
//	Content-Length: 5
//	X-Forwarded-For: 203.0.113.7
//
//	hello
//
// Headers are sorted by name, one line per value. The body is limited to
// 1 MiB; larger bodies get 413.
func (b *Backend) serveEcho(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEchoBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body larger than 1 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
	fmt.Fprintf(&buf, "Host: %s\n", r.Host)
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[name] {
			fmt.Fprintf(&buf, "%s: %s\n", name, v)
		}
	}
	buf.WriteString("\n")
	buf.Write(body)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(buf.Bytes())
}

// serveStream writes "tick N from <name>" lines, flushing each one, to show
// that the load balancer passes a response on as it arrives instead of
// buffering it whole.
func (b *Backend) serveStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rc := http.NewResponseController(w)
	ticker := time.NewTicker(streamInterval)
	defer ticker.Stop()
	for i := 1; i <= streamLines; i++ {
		if i > 1 {
			select {
			case <-r.Context().Done():
				return
			case <-ticker.C:
			}
		}
		fmt.Fprintf(w, "tick %d from %s\n", i, b.Name)
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
