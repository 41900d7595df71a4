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
var readBufPool = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// releaseBuf returns the read buffer to the pool when nothing is buffered.
func (c *conn) releaseBuf() {
	if c.in.buf == nil || c.in.r != c.in.w || len(c.in.buf) != readBufSize {
		return
	}
	b := c.in.buf
	c.in.buf, c.in.r, c.in.w = nil, 0, 0
	readBufPool.Put(&b)
}

// acquireBuf gives the connection a read buffer again.
func (c *conn) acquireBuf() {
	if c.in.buf == nil {
		c.in.buf = *readBufPool.Get().(*[]byte)
		c.in.r, c.in.w = 0, 0
	}
}

// hotWait is how long a keep-alive connection keeps its read buffer while
// waiting for the next request. A busy connection's next request arrives
// well within it and costs nothing extra; after it the buffer goes back to
// the pool.
const hotWait = time.Second

// waitHot waits for the next request's first bytes: up to hotWait with the
// read buffer, then, on a plain TCP connection, without it until the idle
// timeout. It reports false when the connection should be closed.
func (c *conn) waitHot() bool {
	idle := c.e.o.IdleTimeout
	tc, plain := c.nc.(*net.TCPConn)
	if !plain || idle <= hotWait {
		return true // readHead waits with the buffer
	}
	start := time.Now()
	c.in.armed = start.Add(hotWait)
	c.nc.SetReadDeadline(c.in.armed)
	n, err := c.nc.Read(c.in.buf[c.in.w:])
	c.in.w += n
	if n > 0 {
		c.in.last = time.Now()
		return true
	}
	if !isTimeout(err) {
		return false
	}
	c.releaseBuf()
	defer c.acquireBuf()
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	c.in.armed = start.Add(idle)
	c.nc.SetReadDeadline(c.in.armed)
	err = rc.Read(func(fd uintptr) bool {
		var one [1]byte
		_, _, errno := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing yet, let the poller wait. Anything else (data,
		// EOF, an error): the next Read reports which.
		return errno != syscall.EAGAIN
	})
	return err == nil
}
