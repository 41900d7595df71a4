package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// ErrBadChunk is the error (matched with errors.Is) of a chunked body that
// breaks RFC 9112 §7.1.
var ErrBadChunk = errors.New("h1: malformed chunked encoding")

type chunkError struct{ msg string }

func (e *chunkError) Error() string        { return "h1: malformed chunked encoding: " + e.msg }
func (e *chunkError) Is(target error) bool { return target == ErrBadChunk }

var (
	errChunkLineEnd  = &chunkError{"line not ended by CRLF"}
	errChunkLineLong = &chunkError{"chunk-size line too long"}
	errChunkSize     = &chunkError{"bad chunk size"}
	errChunkExt      = &chunkError{"bad chunk extension"}
	errChunkDataEnd  = &chunkError{"chunk data not followed by CRLF"}
	errTrailer       = &chunkError{"bad trailer field"}
	errTrailersLong  = &chunkError{"trailer section too large"}
)

const (
	// maxChunkLine bounds a chunk-size line, extensions included.
	maxChunkLine = 4096
	// maxTrailers bounds the trailer section.
	maxTrailers = 16 << 10
	// maxChunkSize is the largest chunk size accepted, 2^62.
	maxChunkSize = 1 << 62
)

// LastChunk ends a chunked body that has no trailers.
const LastChunk = "0\r\n\r\n"

// AppendChunkHeader appends the chunk-size line of an n-byte chunk (n > 0)
// to dst. The chunk's data follows, then CRLF.
func AppendChunkHeader(dst []byte, n int) []byte {
	dst = strconv.AppendUint(dst, uint64(n), 16)
	return append(dst, '\r', '\n')
}

// byteReader is what ChunkedReader reads from.
type byteReader interface {
	io.Reader
	io.ByteReader
}

const (
	stSize    = iota // before a chunk-size line
	stData           // inside chunk data
	stDataEnd        // before the CRLF after chunk data
	stTrailer        // before the trailer section
	stDone
)

// ChunkedReader decodes a chunked body strictly: hex sizes of at most 16
// digits and at most 2^62, without sign or 0x; chunk extensions
// (;name=value) checked and dropped; CRLF required after each size line and
// after each chunk's data (a bare LF is ErrBadChunk); trailer fields parsed.
// Read returns the decoded data and io.EOF after the last chunk and the
// trailers; a body cut short is io.ErrUnexpectedEOF.
//
// Give it an io.Reader that is also an io.ByteReader (a *bufio.Reader, say)
// and it reads exactly the chunked body, leaving whatever follows for the
// next message; any other reader is wrapped in a buffer that may read past
// the body. The data is read straight into the caller's buffer.
type ChunkedReader struct {
	src      byteReader
	own      *bufio.Reader // wraps a source that is not a byteReader
	state    uint8
	n        int64 // bytes left in the current chunk
	err      error
	line     []byte   // the current line
	tbuf     []byte   // trailer fields, "name:value\n" each
	trailers []Header // point into tbuf
}

// NewChunkedReader returns a ChunkedReader that decodes the chunked body
// read from r.
func NewChunkedReader(r io.Reader) *ChunkedReader {
	c := new(ChunkedReader)
	c.Reset(r)
	return c
}

// Reset makes c decode a new body from r, keeping its buffers.
func (c *ChunkedReader) Reset(r io.Reader) {
	if br, ok := r.(byteReader); ok {
		c.src = br
	} else {
		if c.own == nil {
			c.own = bufio.NewReaderSize(r, 4096)
		} else {
			c.own.Reset(r)
		}
		c.src = c.own
	}
	c.state, c.n, c.err = stSize, 0, nil
	c.line, c.tbuf, c.trailers = c.line[:0], c.tbuf[:0], c.trailers[:0]
}

// Trailers returns the trailer fields, once Read has returned io.EOF. They
// are valid until the next Reset.
func (c *ChunkedReader) Trailers() []Header { return c.trailers }

// Read reads decoded body data into p.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	for c.err == nil {
		switch c.state {
		case stSize:
			line, err := c.readLine(maxChunkLine, errChunkLineLong)
			if err != nil {
				c.err = err
				break
			}
			n, err := parseChunkSize(line)
			if err != nil {
				c.err = err
				break
			}
			if n == 0 {
				c.state = stTrailer
			} else {
				c.n, c.state = n, stData
			}
		case stData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > c.n {
				p = p[:c.n]
			}
			n, err := c.src.Read(p)
			c.n -= int64(n)
			if c.n == 0 {
				c.state = stDataEnd
			}
			if err == io.EOF {
				err = nil
				if c.n > 0 {
					err = io.ErrUnexpectedEOF
				}
			}
			if err != nil {
				c.err = err
				if n == 0 {
					return 0, err
				}
			}
			return n, nil
		case stDataEnd:
			if !c.expect('\r') || !c.expect('\n') {
				break
			}
			c.state = stSize
		case stTrailer:
			if err := c.readTrailers(); err != nil {
				c.err = err
				break
			}
			c.state, c.err = stDone, io.EOF
		}
	}
	return 0, c.err
}

// expect reads one byte and reports whether it is want, setting c.err if
// not.
func (c *ChunkedReader) expect(want byte) bool {
	b, err := c.src.ReadByte()
	switch {
	case err == io.EOF:
		c.err = io.ErrUnexpectedEOF
	case err != nil:
		c.err = err
	case b != want:
		c.err = errChunkDataEnd
	default:
		return true
	}
	return false
}

// readLine reads a CRLF-terminated line of at most max bytes into c.line and
// returns it without the CRLF.
func (c *ChunkedReader) readLine(max int, tooLong error) ([]byte, error) {
	c.line = c.line[:0]
	for {
		b, err := c.src.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch b {
		case '\n':
			return nil, errChunkLineEnd // bare LF
		case '\r':
			b, err = c.src.ReadByte()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
			if b != '\n' {
				return nil, errChunkLineEnd // bare CR
			}
			return c.line, nil
		}
		if len(c.line) == max {
			return nil, tooLong
		}
		c.line = append(c.line, b)
	}
}

// parseChunkSize parses chunk-size [chunk-ext]:
//
//	chunk-size = 1*HEXDIG
//	chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
//	ext-val    = token / quoted-string
//
// Whitespace after the size is allowed only before a ';' ("5 \r\n" is an
// error).
func parseChunkSize(line []byte) (int64, error) {
	var n uint64
	i := 0
	for ; i < len(line); i++ {
		d, ok := unhex(line[i])
		if !ok {
			break
		}
		if i == 16 {
			return 0, errChunkSize
		}
		n = n<<4 | uint64(d)
	}
	if i == 0 || n > maxChunkSize {
		return 0, errChunkSize
	}
	ext := line[i:]
	for len(ext) > 0 {
		ext = trimLeftOWS(ext)
		if len(ext) == 0 || ext[0] != ';' {
			return 0, errChunkExt
		}
		ext = trimLeftOWS(ext[1:])
		k := tokenLen(ext)
		if k == 0 {
			return 0, errChunkExt
		}
		ext = ext[k:]
		if rest := trimLeftOWS(ext); len(rest) > 0 && rest[0] == '=' {
			ext = trimLeftOWS(rest[1:])
			if len(ext) > 0 && ext[0] == '"' {
				k = quotedLen(ext)
			} else {
				k = tokenLen(ext)
			}
			if k == 0 {
				return 0, errChunkExt
			}
			ext = ext[k:]
		}
	}
	return int64(n), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func trimLeftOWS(s []byte) []byte {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	return s
}

func tokenLen(s []byte) int {
	i := 0
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	return i
}

// quotedLen returns the length of the quoted-string at the start of s, 0 if
// there is none.
func quotedLen(s []byte) int {
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i == len(s) || (s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f {
				return 0
			}
		case (c < 0x20 && c != '\t') || c == 0x7f:
			return 0
		}
	}
	return 0
}

// readTrailers reads the trailer section up to its empty line.
func (c *ChunkedReader) readTrailers() error {
	total := 0
	for {
		line, err := c.readLine(maxTrailers, errTrailersLong)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			break
		}
		if total += len(line) + 2; total > maxTrailers {
			return errTrailersLong
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return errTrailer // obs-fold included: the line starts with SP or HTAB
		}
		value := trimOWS(line[colon+1:])
		for _, b := range value {
			if b < 0x80 && valueTable[b] != 0 {
				return errTrailer
			}
		}
		c.tbuf = append(c.tbuf, line[:colon+1]...)
		c.tbuf = append(c.tbuf, value...)
		c.tbuf = append(c.tbuf, '\n')
	}
	for t := c.tbuf; len(t) > 0; {
		colon := bytes.IndexByte(t, ':')
		end := bytes.IndexByte(t, '\n')
		c.trailers = append(c.trailers, Header{Name: t[:colon:colon], Value: t[colon+1 : end : end]})
		t = t[end+1:]
	}
	return nil
}
