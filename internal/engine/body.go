package engine

import (
	"errors"
	"io"
)

var errBadChunk = errors.New("malformed chunked encoding")

// maxChunkLine bounds a chunk-size line, extensions included.
const maxChunkLine = 4096

// copyN copies exactly n bytes from s to w.
func copyN(w io.Writer, s *src, n int64, scratch []byte) (int64, error) {
	var done int64
	for done < n {
		if s.r < s.w {
			k := min(int64(s.w-s.r), n-done)
			if _, err := w.Write(s.buf[s.r : s.r+int(k)]); err != nil {
				return done, errWrite{err}
			}
			s.r += int(k)
			done += k
			continue
		}
		k := min(int64(len(scratch)), n-done)
		m, err := s.Read(scratch[:k])
		if m > 0 {
			if _, werr := w.Write(scratch[:m]); werr != nil {
				return done, errWrite{werr}
			}
			done += int64(m)
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return done, err
		}
	}
	return done, nil
}

// copyUntilEOF copies s to w until the peer closes.
func copyUntilEOF(w io.Writer, s *src, scratch []byte) (int64, error) {
	var done int64
	for {
		if s.r < s.w {
			if _, err := w.Write(s.buf[s.r:s.w]); err != nil {
				return done, errWrite{err}
			}
			done += int64(s.w - s.r)
			s.r = s.w
		}
		m, err := s.Read(scratch)
		if m > 0 {
			if _, werr := w.Write(scratch[:m]); werr != nil {
				return done, errWrite{werr}
			}
			done += int64(m)
		}
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			return done, err
		}
	}
}

// copyChunked decodes a chunked body from s strictly (hex sizes, CRLF line
// ends, extensions dropped) and writes it to w: re-chunked when rechunk,
// else as plain bytes. Trailers are forwarded when re-chunking.
func copyChunked(w io.Writer, s *src, rechunk bool, scratch []byte) (int64, error) {
	var done int64
	var hdr [24]byte
	for {
		line, err := s.readLine(maxChunkLine)
		if err != nil {
			return done, err
		}
		size, err := parseChunkSize(line)
		if err != nil {
			return done, err
		}
		if size == 0 {
			break
		}
		if rechunk {
			if _, err := w.Write(appendHex(hdr[:0], size)); err != nil {
				return done, errWrite{err}
			}
		}
		n, err := copyN(w, s, size, scratch)
		done += n
		if err != nil {
			return done, err
		}
		crlf, err := s.readLine(2)
		if err != nil || len(crlf) != 0 {
			return done, errBadChunk
		}
		if rechunk {
			if _, err := w.Write(crlfBytes); err != nil {
				return done, errWrite{err}
			}
		}
	}
	// Trailers, then the final empty line.
	var trailer []byte
	for {
		line, err := s.readLine(maxChunkLine)
		if err != nil {
			return done, err
		}
		if len(line) == 0 {
			break
		}
		if !validTrailer(line) {
			return done, errBadChunk
		}
		trailer = append(append(trailer, line...), '\r', '\n')
		if len(trailer) > 16<<10 {
			return done, errBadChunk
		}
	}
	if rechunk {
		out := append(append([]byte("0\r\n"), trailer...), '\r', '\n')
		if _, err := w.Write(out); err != nil {
			return done, errWrite{err}
		}
	}
	return done, nil
}

var crlfBytes = []byte("\r\n")

// parseChunkSize parses "1a;ext=v": hex digits only (no sign, no 0x), at
// most 15 of them so the size fits comfortably in an int64.
func parseChunkSize(line []byte) (int64, error) {
	end := len(line)
	for i, c := range line {
		if c == ';' {
			end = i
			break
		}
	}
	digits := line[:end]
	// Whitespace before extensions is tolerated (RFC 9112 BWS), nowhere else.
	for len(digits) > 0 && (digits[len(digits)-1] == ' ' || digits[len(digits)-1] == '\t') && end < len(line) {
		digits = digits[:len(digits)-1]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return 0, errBadChunk
	}
	var n int64
	for _, c := range digits {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, errBadChunk
		}
		n = n<<4 | int64(v)
	}
	for _, c := range line[end:] {
		if c == 0 || c == '\r' || c == '\n' {
			return 0, errBadChunk
		}
	}
	return n, nil
}

func appendHex(b []byte, n int64) []byte {
	const digits = "0123456789abcdef"
	var tmp [16]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = digits[n&0xf]
		n >>= 4
		if n == 0 {
			break
		}
	}
	b = append(b, tmp[i:]...)
	return append(b, '\r', '\n')
}

func validTrailer(line []byte) bool {
	colon := -1
	for i, c := range line {
		if c == 0 || c == '\r' {
			return false
		}
		if c == ':' && colon < 0 {
			colon = i
		}
	}
	return colon > 0 && isToken(line[:colon])
}

// errWrite marks a failure writing to the other side, so callers can tell
// which peer failed.
type errWrite struct{ err error }

func (e errWrite) Error() string { return "write: " + e.err.Error() }
func (e errWrite) Unwrap() error { return e.err }
