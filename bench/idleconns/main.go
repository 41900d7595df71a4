// Command idleconns opens -n HTTP/1.1 keep-alive connections to -addr,
// sends one request on each and reads the response, then keeps them all
// open and idle until it is killed or -hold passes. Once every connection is
// open it prints "ready N" on stdout, so the caller can measure the server's
// memory with N idle connections.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:28000", "server address")
	n := flag.Int("n", 10000, "connections")
	par := flag.Int("p", 64, "connections opened in parallel")
	hold := flag.Duration("hold", 5*time.Minute, "how long to keep the connections open")
	flag.Parse()

	req := []byte("GET / HTTP/1.1\r\nHost: " + *addr + "\r\n\r\n")
	conns := make([]net.Conn, *n)
	var failed atomic.Int64
	var firstErr atomic.Value
	next := make(chan int)
	var wg sync.WaitGroup
	for range *par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := open(*addr, req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := range *n {
		next <- i
	}
	close(next)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		fmt.Fprintf(os.Stderr, "idleconns: %d of %d connections failed; first error: %v\n", f, *n, firstErr.Load())
	}
	fmt.Printf("ready %d\n", int64(*n)-failed.Load())
	time.Sleep(*hold)
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// open dials addr, sends req and reads one full response, leaving the
// connection open for reuse.
func open(addr string, req []byte) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	if resp.Close {
		c.Close()
		return nil, fmt.Errorf("server closed the connection after the response")
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
