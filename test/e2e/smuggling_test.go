package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestDesyncMitigation sends raw requests, the shapes used for request
// smuggling among them, through a load balancer in each desync mitigation
// mode and asserts the statuses the client gets and the exact bytes that
// reach the target (the headers sluice adds are left out of the comparison).
func TestDesyncMitigation(t *testing.T) {
	skipOnNetHTTP(t, "desync mitigation is implemented by the h1 engine")
	t.Parallel()
	be := map[string]*rawBackend{}
	v := newVars(t, 3)
	modes := []string{"monitor", "defensive", "strictest"}
	cfg := "version: 1\nload_balancers:\n"
	for i, m := range modes {
		be[m] = newRawBackend(t)
		cfg += fmt.Sprintf(`  - name: %[1]s
    desync_mitigation_mode: %[1]s
    idle_timeout: 2s
    listeners:
      - protocol: HTTP
        port: %[2]d
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: %[1]s }]
`, m, v[fmt.Sprintf("P%d", i+1)])
	}
	cfg += "target_groups:\n"
	for _, m := range modes {
		cfg += fmt.Sprintf("  - { name: %s, protocol: HTTP, port: %d, targets: [{ id: 127.0.0.1 }], health_check: { enabled: false } }\n", m, be[m].port)
	}
	start(t, cfg)

	const host = "Host: a\r\n"
	// A normalised forwarded head: request line, Host with the listener
	// port, the client's other headers, then sluice's framing header.
	fwd := func(line, headers, framing, body string) string {
		return line + "\r\nHost: a:PORT\r\n" + headers + framing + "\r\n" + body
	}
	smuggled := "GET /smuggled HTTP/1.1\r\n" + host + "\r\n"
	cases := []struct {
		name string
		raw  string
		want map[string]want // by mode
	}{
		{
			name: "compliant keep-alive pair",
			raw:  "GET /a HTTP/1.1\r\n" + host + "\r\n" + "GET /b HTTP/1.1\r\n" + host + "\r\n",
			want: map[string]want{
				"monitor":   {statuses: []int{200, 200}, got: []string{fwd("GET /a HTTP/1.1", "", "", ""), fwd("GET /b HTTP/1.1", "", "", "")}},
				"defensive": {statuses: []int{200, 200}, got: []string{fwd("GET /a HTTP/1.1", "", "", ""), fwd("GET /b HTTP/1.1", "", "", "")}},
				"strictest": {statuses: []int{200, 200}, got: []string{fwd("GET /a HTTP/1.1", "", "", ""), fwd("GET /b HTTP/1.1", "", "", "")}},
			},
		},
		{
			name: "CL.TE: chunked wins, CL dropped",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			want: map[string]want{
				// monitor keeps the connection: what follows the chunked
				// body is the client's next request, framed the same way
				// on both sides.
				"monitor":   {statuses: []int{200, 200}, got: []string{fwd("POST / HTTP/1.1", "", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n"), fwd("GET /smuggled HTTP/1.1", "", "", "")}},
				"defensive": {statuses: []int{200}, closed: true, got: []string{fwd("POST / HTTP/1.1", "", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "TE.CL: chunked body carries what CL would cut",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGPOST\r\n0\r\n\r\n",
			want: map[string]want{
				"monitor":   {statuses: []int{200}, got: []string{fwd("POST / HTTP/1.1", "", "Transfer-Encoding: chunked\r\n", "5\r\nGPOST\r\n0\r\n\r\n")}},
				"defensive": {statuses: []int{200}, closed: true, got: []string{fwd("POST / HTTP/1.1", "", "Transfer-Encoding: chunked\r\n", "5\r\nGPOST\r\n0\r\n\r\n")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "TE.TE: xchunked",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nGPOST\r\n0\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "TE.TE: chunked, identity",
			raw:  "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "TE.TE: chunked twice",
			raw:  "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "TE.TE: tab before the value is plain whitespace",
			raw:  "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			want: allModes(want{statuses: []int{200}, got: []string{fwd("POST / HTTP/1.1", "", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n")}}),
		},
		{
			name: "differing Content-Length",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "negative Content-Length",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "hex Content-Length",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x3\r\n\r\nabc",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "overflowing Content-Length",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 99999999999999999999\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "duplicate identical Content-Length",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
			want: map[string]want{
				"monitor":   {statuses: []int{200}, got: []string{fwd("POST / HTTP/1.1", "", "Content-Length: 3\r\n", "abc")}},
				"defensive": {statuses: []int{200}, closed: true, got: []string{fwd("POST / HTTP/1.1", "", "Content-Length: 3\r\n", "abc")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "NUL in a header value",
			raw:  "GET / HTTP/1.1\r\n" + host + "X-A: a\x00b\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "bare LF line endings are normalised",
			raw:  "GET /lf HTTP/1.1\n" + "Host: a\n" + "X-A: 1\n\n",
			want: map[string]want{
				"monitor":   {statuses: []int{200}, got: []string{fwd("GET /lf HTTP/1.1", "X-A: 1\r\n", "", "")}},
				"defensive": {statuses: []int{200}, got: []string{fwd("GET /lf HTTP/1.1", "X-A: 1\r\n", "", "")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "GET with Content-Length: 0",
			raw:  "GET /z HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n",
			want: map[string]want{
				"monitor":   {statuses: []int{200}, got: []string{fwd("GET /z HTTP/1.1", "", "Content-Length: 0\r\n", "")}},
				"defensive": {statuses: []int{200}, got: []string{fwd("GET /z HTTP/1.1", "", "Content-Length: 0\r\n", "")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "obs-fold is flattened to one line",
			raw:  "GET /f HTTP/1.1\r\n" + host + "X-Fold: a\r\n b\r\n\r\n",
			want: map[string]want{
				"monitor":   {statuses: []int{200}, got: []string{fwd("GET /f HTTP/1.1", "X-Fold: a b\r\n", "", "")}},
				"defensive": {statuses: []int{200}, closed: true, got: []string{fwd("GET /f HTTP/1.1", "X-Fold: a b\r\n", "", "")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "chunk extensions are dropped",
			raw:  "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n5;foo=bar\r\nhello\r\n0\r\n\r\n",
			want: allModes(want{statuses: []int{200}, got: []string{fwd("POST / HTTP/1.1", "", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n")}}),
		},
		{
			name: "lookalike framing header is not forwarded",
			raw:  "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer_Encoding: chunked\r\n\r\nabc",
			want: map[string]want{
				"monitor":   {statuses: []int{200}, got: []string{fwd("POST / HTTP/1.1", "", "Content-Length: 3\r\n", "abc")}},
				"defensive": {statuses: []int{200}, closed: true, got: []string{fwd("POST / HTTP/1.1", "", "Content-Length: 3\r\n", "abc")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "space in the URI is encoded for the target",
			raw:  "GET /a b HTTP/1.1\r\n" + host + "\r\n",
			want: map[string]want{
				"monitor":   {statuses: []int{200}, got: []string{fwd("GET /a%20b HTTP/1.1", "", "", "")}},
				"defensive": {statuses: []int{200}, got: []string{fwd("GET /a%20b HTTP/1.1", "", "", "")}},
				"strictest": {statuses: []int{400}, closed: true},
			},
		},
		{
			name: "CONNECT is refused",
			raw:  "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
			want: allModes(want{statuses: []int{405}}),
		},
		{
			name: "Host that is not host[:port]",
			raw:  "GET / HTTP/1.1\r\nHost: evil.com/\x0bfoo\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "HEAD gets an error without a body, and the connection stays in step",
			raw:  "HEAD / HTTP/1.1\r\n" + host + "X-Forwarded-For: " + strings.Repeat("1.1.1.1, ", 30) + "1.1.1.1\r\n\r\n" + "GET /next HTTP/1.1\r\n" + host + "\r\n",
			want: allModes(want{statuses: []int{463, 200}, got: []string{fwd("GET /next HTTP/1.1", "", "", "")}}),
		},
		{
			name: "invalid chunk size stops the body",
			raw:  "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
		{
			name: "chunk size with a sign",
			raw:  "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
			want: allModes(want{statuses: []int{400}, closed: true}),
		},
	}
	for i, m := range modes {
		port := v[fmt.Sprintf("P%d", i+1)].(int)
		for _, tc := range cases {
			w, ok := tc.want[m]
			if !ok {
				continue
			}
			t.Run(m+"/"+tc.name, func(t *testing.T) {
				before := len(be[m].received())
				statuses, closed := rawExchange(t, fmt.Sprintf("127.0.0.1:%d", port), tc.raw, len(w.statuses))
				if fmt.Sprint(statuses) != fmt.Sprint(w.statuses) {
					t.Errorf("statuses %v, want %v", statuses, w.statuses)
				}
				if w.closed && !closed {
					t.Errorf("connection left open, want closed")
				}
				if !w.closed && closed {
					t.Errorf("connection closed, want kept alive")
				}
				var got []string
				for _, r := range be[m].received()[before:] {
					got = append(got, strings.ReplaceAll(r, fmt.Sprintf("a:%d", port), "a:PORT"))
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", w.got) {
					t.Errorf("target received\n%q\nwant\n%q", got, w.got)
				}
			})
		}
	}
}

// want is what one raw request must lead to in one mode.
type want struct {
	statuses []int    // responses the client reads, in order
	closed   bool     // the connection is closed after them
	got      []string // requests the target received
}

func allModes(w want) map[string]want {
	return map[string]want{"monitor": w, "defensive": w, "strictest": w}
}

// rawExchange writes raw to addr, reads up to n responses, and reports
// their statuses and whether the server closed the connection after them.
func rawExchange(t *testing.T, addr, raw string, n int) ([]int, bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var statuses []int
	for i := 0; i < n; i++ {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var req *http.Request
		if i == 0 && strings.HasPrefix(raw, "HEAD ") {
			req = &http.Request{Method: "HEAD"} // a HEAD response has no body
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	// Closed means EOF soon; open means nothing arrives (the read times
	// out well before the 2s idle timeout).
	c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	_, err = br.ReadByte()
	closed := err == io.EOF || err != nil && !isNetTimeout(err)
	// Give the target a moment to record what it got.
	time.Sleep(50 * time.Millisecond)
	return statuses, closed
}

func isNetTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
