package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestChunkedReader(t *testing.T) {
	for _, c := range []struct {
		name     string
		in       string
		want     string
		err      error // nil: io.EOF at the end
		trailers string
	}{
		{name: "simple", in: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", want: "hello world"},
		{name: "upper-case hex", in: "A\r\n0123456789\r\n0\r\n\r\n", want: "0123456789"},
		{name: "leading zeros", in: "0005\r\nhello\r\n000\r\n\r\n", want: "hello"},
		{name: "16 hex digits", in: "0000000000000005\r\nhello\r\n0\r\n\r\n", want: "hello"},
		{name: "extensions", in: "5;a=b;c=\"q\\\"x;y\" ; d\r\nhello\r\n0;last\r\n\r\n", want: "hello"},
		{name: "whitespace before extension", in: "5 ;a\r\nhello\r\n0\r\n\r\n", want: "hello"},
		{name: "trailers", in: "5\r\nhello\r\n0\r\nX-Checksum: abc \r\nExpires:\tnever\r\n\r\n", want: "hello",
			trailers: "X-Checksum=abc|Expires=never"},
		{name: "empty body", in: "0\r\n\r\n"},

		{name: "bare LF after size", in: "5\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "bare LF after data", in: "5\r\nhello\n0\r\n\r\n", want: "hello", err: ErrBadChunk},
		{name: "bare LF in trailers", in: "5\r\nhello\r\n0\r\nX: y\n\r\n", want: "hello", err: ErrBadChunk},
		{name: "bare CR after size", in: "5\rhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "0x prefix", in: "0x10\r\n0123456789abcdef\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "negative", in: "-1\r\nx\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "plus", in: "+1\r\nx\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "17 hex digits", in: "00000000000000005\r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "over 2^62", in: "4000000000000001\r\n", err: ErrBadChunk},
		{name: "overflow", in: "ffffffffffffffff\r\n", err: ErrBadChunk},
		{name: "empty size", in: "\r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "trailing space after size", in: "5 \r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "tab after size", in: "5\t\r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "extension without name", in: "5;\r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "extension with empty value", in: "5;a=\r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "unterminated quoted extension", in: "5;a=\"x\r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "garbage after size", in: "5x\r\nhello\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "missing CRLF after data", in: "5\r\nhelloX\r\n0\r\n\r\n", want: "hello", err: ErrBadChunk},
		{name: "data longer than size", in: "3\r\nhello\r\n0\r\n\r\n", want: "hel", err: ErrBadChunk},
		{name: "obs-fold in trailers", in: "0\r\nX: a\r\n b\r\n\r\n", err: ErrBadChunk},
		{name: "trailer without colon", in: "0\r\nX\r\n\r\n", err: ErrBadChunk},
		{name: "trailer with CTL", in: "0\r\nX: a\x01\r\n\r\n", err: ErrBadChunk},
		{name: "last chunk without final CRLF", in: "5\r\nhello\r\n0\r\n", want: "hello", err: io.ErrUnexpectedEOF},
		{name: "truncated data", in: "5\r\nhel", want: "hel", err: io.ErrUnexpectedEOF},
		{name: "truncated size line", in: "5", err: io.ErrUnexpectedEOF},
		{name: "nothing", in: "", err: io.ErrUnexpectedEOF},
		{name: "size line too long", in: "1;" + strings.Repeat("a", 5000) + "\r\nx\r\n0\r\n\r\n", err: ErrBadChunk},
		{name: "trailers too large", in: "0\r\n" + strings.Repeat("X: "+strings.Repeat("a", 1000)+"\r\n", 20) + "\r\n", err: ErrBadChunk},
	} {
		for _, mode := range []string{"bufio", "onebyte", "plain"} {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				var src io.Reader = strings.NewReader(c.in)
				switch mode {
				case "bufio":
					src = bufio.NewReader(src)
				case "onebyte":
					src = bufio.NewReaderSize(iotest.OneByteReader(src), 16)
				case "plain":
					src = iotest.OneByteReader(src)
				}
				cr := NewChunkedReader(src)
				got, err := io.ReadAll(cr)
				if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				if string(got) != c.want {
					t.Errorf("data = %q, want %q", got, c.want)
				}
				var tr []string
				for _, h := range cr.Trailers() {
					tr = append(tr, string(h.Name)+"="+string(h.Value))
				}
				if strings.Join(tr, "|") != c.trailers {
					t.Errorf("trailers = %q, want %q", tr, c.trailers)
				}
			})
		}
	}
}

// TestChunkedReaderStopsAtBodyEnd: with a byte reader, the bytes after the
// body are left for the next message.
func TestChunkedReaderStopsAtBodyEnd(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("3\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /next HTTP/1.1\r\n"))
	cr := NewChunkedReader(br)
	if got, err := io.ReadAll(cr); err != nil || string(got) != "abc" {
		t.Fatalf("%q %v", got, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "GET /next HTTP/1.1\r\n" {
		t.Errorf("rest = %q", rest)
	}
	cr.Reset(bufio.NewReader(strings.NewReader("1\r\nz\r\n0\r\n\r\n")))
	if got, err := io.ReadAll(cr); err != nil || string(got) != "z" || len(cr.Trailers()) != 0 {
		t.Fatalf("after Reset: %q %v %d", got, err, len(cr.Trailers()))
	}
}

func TestAppendChunkHeader(t *testing.T) {
	var b []byte
	b = AppendChunkHeader(b, 255)
	b = append(b, bytes.Repeat([]byte("x"), 255)...)
	b = append(b, "\r\n"...)
	b = AppendChunkHeader(b, 1)
	b = append(b, "y\r\n"...)
	b = append(b, LastChunk...)
	if !bytes.HasPrefix(b, []byte("ff\r\n")) {
		t.Fatalf("%q", b[:8])
	}
	got, err := io.ReadAll(NewChunkedReader(bytes.NewReader(b)))
	if err != nil || string(got) != strings.Repeat("x", 255)+"y" {
		t.Fatalf("%q %v", got, err)
	}
}
