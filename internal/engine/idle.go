package engine

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// An idle keep-alive connection holds no read buffer: between requests it
// returns the buffer to this pool and waits for the socket to become
// readable, so ten thousand idle clients cost little more than their
// goroutines.
var (
	readBufPool  = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, writeBufSize); return &b }}
)

// writeBufSize is the initial capacity of the buffer heads are built in.
const writeBufSize = 2 << 10

// releaseBuf returns the read buffer to the pool when nothing is buffered.
func (c *conn) releaseBuf() {
	if c.in.buf == nil || c.in.r != c.in.w {
		return
	}
	b := c.in.buf
	c.in.buf, c.in.r, c.in.w = nil, 0, 0
	if len(b) == readBufSize {
		readBufPool.Put(&b)
	} // a buffer grown for a large head goes to the garbage collector
	if cap(c.wbuf) <= 4*writeBufSize {
		w := c.wbuf[:0]
		writeBufPool.Put(&w)
	}
	c.wbuf = nil
}

// acquireBuf gives the connection a read buffer again.
func (c *conn) acquireBuf() {
	if c.in.buf == nil {
		c.in.buf = *readBufPool.Get().(*[]byte)
		c.in.r, c.in.w = 0, 0
	}
	if c.wbuf == nil {
		c.wbuf = (*writeBufPool.Get().(*[]byte))[:0]
	}
}

// hotWait is how long a keep-alive connection keeps its read buffer while
// waiting for the next request. A busy connection's next request arrives
// well within it and costs nothing extra; after it the buffer goes back to
// the pool.
const hotWait = 100 * time.Millisecond

// Outcomes of waitHot.
const (
	hotData   = iota // bytes arrived
	hotClosed        // the connection failed or the client closed it
	hotIdle          // nothing within hotWait: wait in idle
)

// waitHot waits up to hotWait, with the read buffer, for the next
// request's first bytes. Connections without a raw socket (TLS), or with an
// idle timeout no longer than hotWait, report hotData and let readHead wait.
func (c *conn) waitHot() int {
	if _, plain := c.nc.(*net.TCPConn); !plain || c.e.o.IdleTimeout <= hotWait {
		return hotData
	}
	// Everything buffered was consumed: start over at the front, or a long
	// keep-alive connection would read into an ever smaller tail.
	c.in.r, c.in.w = 0, 0
	now := time.Now()
	c.idleSince = now
	// A busy connection keeps the deadline it has as long as it falls
	// within the hot wait; an early timeout is checked against the last
	// activity below.
	if !c.in.armed.After(now) || c.in.armed.After(now.Add(hotWait)) {
		c.in.armed = now.Add(hotWait)
		c.nc.SetReadDeadline(c.in.armed)
	}
	for {
		n, err := c.nc.Read(c.in.buf[c.in.w:])
		c.in.w += n
		c.in.total += int64(n)
		switch {
		case n > 0:
			c.in.last = time.Now()
			return hotData
		case !isTimeout(err) || c.e.shutting.Load():
			return hotClosed
		}
		// Quiet since the deadline was set, or only since the last
		// response went out?
		if d := c.in.last.Add(hotWait); time.Now().Before(d) {
			c.in.armed = d
			c.nc.SetReadDeadline(d)
			continue
		}
		return hotIdle
	}
}

// idle waits, holding no buffer, until the client sends something, closes,
// or stays silent for the idle timeout, then resumes serving.
func (c *conn) idle() {
	tc := c.nc.(*net.TCPConn)
	rc, err := tc.SyscallConn()
	if err != nil {
		c.finish()
		return
	}
	c.in.armed = c.idleSince.Add(c.e.o.IdleTimeout)
	c.nc.SetReadDeadline(c.in.armed)
	err = rc.Read(func(fd uintptr) bool {
		var one [1]byte
		_, _, errno := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing yet, let the poller wait. Anything else (data,
		// EOF, an error): the next Read reports which.
		return errno != syscall.EAGAIN
	})
	if err != nil || c.e.shutting.Load() {
		c.finish()
		return
	}
	c.serve()
}
