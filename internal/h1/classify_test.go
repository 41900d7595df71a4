package h1

import "testing"

// TestSWARScans checks the eight-bytes-at-a-time scans against the tables
// for every byte at every position of a word.
func TestSWARScans(t *testing.T) {
	base := []byte("abcdefghijklmnopqrstuvwx")
	for c := 0; c < 256; c++ {
		for i := range base {
			s := append([]byte(nil), base...)
			s[i] = byte(c)
			if got, want := scanValue(s), scan(s, &valueTable); got != want {
				t.Fatalf("scanValue(%q) = %d, want %d", s, got, want)
			}
			if got, want := scanURI(s), scan(s, &uriTable); got != want {
				t.Fatalf("scanURI(%q) = %d, want %d", s, got, want)
			}
		}
	}
}

func TestLookalike(t *testing.T) {
	for _, c := range []struct {
		name string
		want hkind
	}{
		{"Transfer_Encoding", kLikeTransferEncoding},
		{"Transfer-Encoding ", kLikeTransferEncoding},
		{"transfer-encoding XY", kLikeTransferEncoding},
		{"Transfer-Encoding \x01", kLikeTransferEncoding},
		{"\x01\x01Transfer-Encoding", kLikeTransferEncoding},
		{"Transfer- Encoding", kLikeTransferEncoding},
		{"Transfer---Encoding", kLikeTransferEncoding},
		{"TransferEncoding", kLikeTransferEncoding},
		{"Transfer-Encoding\x88", kLikeTransferEncoding},
		{"\xe2\x80\x83Transfer-Encoding", kLikeTransferEncoding},
		{"Content-Length\xe2\x80\x83", kLikeContentLength},
		{"\xa0Content-Length", kLikeContentLength},
		{"Content-Length2", kLikeContentLength},
		{"Content-Lengths", kOther},
		{"Content-Lengt", kOther},
		{"X-Content-Length", kOther},
		{"Content-Type", kOther},
		{"Accept-Encoding", kOther},
		{"Transfer-Encoding-Extra", kOther},
	} {
		if got := lookalike([]byte(c.name)); got != c.want {
			t.Errorf("lookalike(%q) = %d, want %d", c.name, got, c.want)
		}
	}
}
