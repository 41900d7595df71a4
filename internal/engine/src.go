package engine

import (
	"errors"
	"io"
	"net"
	"time"
)

// src is the read side of a connection with its buffer: buf[r:w] has been
// read from the connection and not consumed. Reads never take more from the
// connection than the caller consumes through src, so bytes of the next
// pipelined request (or anything a target sent past its response) stay put.
type src struct {
	c    net.Conn
	buf  []byte
	r, w int
	// idle bounds every wait for bytes; zero means no deadline.
	idle time.Duration
	// last is when bytes last moved on the connection (either way); armed
	// is the read deadline currently set. The deadline is re-armed only
	// when it gets close, and a timeout is real only if last is idle old.
	last, armed time.Time
	// total counts the bytes read from the connection.
	total int64
}

// consumed is the number of bytes read from the connection and consumed.
func (s *src) consumed() int64 { return s.total - int64(s.w-s.r) }

// arm makes sure some read deadline is set. The one set may be nearer than
// the idle timeout (the hot wait sets a short one); a timeout is then
// checked against the last activity by stillActive, so it costs a rare
// wake-up instead of a deadline change per read.
func (s *src) arm(now time.Time) {
	if !s.armed.After(now) {
		s.armed = now.Add(s.idle)
		s.c.SetReadDeadline(s.armed)
	}
}

// stillActive reports, after a timeout, whether the connection was in fact
// active within the idle timeout (bytes moved the other way), re-arming the
// deadline from the last activity if so.
func (s *src) stillActive(err error) bool {
	if s.idle <= 0 || !isTimeout(err) {
		return false
	}
	d := s.last.Add(s.idle)
	if !time.Now().Before(d) {
		return false
	}
	s.armed = d
	s.c.SetReadDeadline(d)
	return true
}

var errHeadTooLarge = errors.New("engine: head larger than the buffer allows")

// buffered is the unconsumed bytes.
func (s *src) buffered() []byte { return s.buf[s.r:s.w] }

// fill reads at least one more byte into the buffer, compacting it first and
// growing it up to max.
func (s *src) fill(max int) error {
	if s.r > 0 && s.r == s.w {
		s.r, s.w = 0, 0
	}
	if s.w == len(s.buf) {
		if s.r > 0 {
			n := copy(s.buf, s.buf[s.r:s.w])
			s.r, s.w = 0, n
		} else {
			if len(s.buf) >= max {
				return errHeadTooLarge
			}
			nb := make([]byte, min(2*len(s.buf), max))
			copy(nb, s.buf[:s.w])
			s.buf = nb
		}
	}
	for {
		if s.idle > 0 {
			s.arm(time.Now())
		}
		n, err := s.c.Read(s.buf[s.w:])
		s.w += n
		s.total += int64(n)
		if n > 0 {
			if s.idle > 0 {
				s.last = time.Now()
			}
			return nil
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		if s.stillActive(err) {
			continue
		}
		return err
	}
}

// Read consumes buffered bytes first, then reads the connection directly.
func (s *src) Read(p []byte) (int, error) {
	if s.r < s.w {
		n := copy(p, s.buf[s.r:s.w])
		s.r += n
		return n, nil
	}
	for {
		if s.idle > 0 {
			s.arm(time.Now())
		}
		n, err := s.c.Read(p)
		s.total += int64(n)
		if n > 0 && s.idle > 0 {
			s.last = time.Now()
		}
		if n == 0 && s.stillActive(err) {
			continue
		}
		return n, err
	}
}

// readLine returns the next line without its line ending, consuming it. A
// line longer than max is an error. Bare LF endings are refused: in chunk
// framing only CRLF is valid.
func (s *src) readLine(max int) ([]byte, error) {
	for {
		b := s.buf[s.r:s.w]
		for i, c := range b {
			if c == '\n' {
				if i == 0 || b[i-1] != '\r' {
					return nil, errBadChunk
				}
				s.r += i + 1
				return b[:i-1], nil
			}
		}
		if len(b) >= max {
			return nil, errBadChunk
		}
		if err := s.fill(len(s.buf) + max); err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// discard consumes n bytes.
func (s *src) discard(n int64) error {
	for n > 0 {
		if s.r == s.w {
			if err := s.fill(len(s.buf)); err != nil {
				return err
			}
		}
		k := min(int64(s.w-s.r), n)
		s.r += int(k)
		n -= k
	}
	return nil
}
