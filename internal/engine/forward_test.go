package engine

import "testing"

// TestSkipRequestHeader pins the length-switched lookup: a name filed under
// the wrong length would be forwarded twice.
func TestSkipRequestHeader(t *testing.T) {
	for _, name := range []string{"TE", "Host", "Upgrade", "Trailer", "Forwarded", "Connection", "Keep-Alive",
		"Content-Length", "X-Forwarded-For", "X-Amzn-Trace-Id", "x-amzn-trace-id", "X-Forwarded-Port",
		"X-Forwarded-Host", "Proxy-Connection", "Transfer-Encoding", "X-Forwarded-Proto"} {
		if !skipRequestHeader([]byte(name)) {
			t.Errorf("%s is forwarded as received, want it dropped or rebuilt", name)
		}
	}
	for _, name := range []string{"Accept", "Cookie", "X-Custom", "Content-Type", "Expect"} {
		if skipRequestHeader([]byte(name)) {
			t.Errorf("%s is dropped, want it forwarded", name)
		}
	}
	for _, name := range []string{"TE", "Upgrade", "Trailer", "Connection", "Keep-Alive", "Content-Length",
		"Proxy-Connection", "Transfer-Encoding"} {
		if !skipResponseHeader([]byte(name)) {
			t.Errorf("response %s is forwarded as received", name)
		}
	}
}
