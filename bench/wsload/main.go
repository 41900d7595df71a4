// Command wsload measures WebSocket echo throughput: it opens -c
// connections to -url and on each one sends a message and waits for its
// echo, over and over, for -d. It prints the messages echoed, the rate and
// round-trip latency percentiles in one line the benchmark script parses:
//
//	messages=N seconds=S msgs_per_sec=R p50_ms=A p99_ms=B errors=E
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:28000/ws", "WebSocket URL")
	conns := flag.Int("c", 64, "connections")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	size := flag.Int("size", 32, "message size in bytes")
	flag.Parse()

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	msg := make([]byte, *size)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}

	// Connect everything first so that handshakes are not measured.
	dialCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := make([]*websocket.Conn, *conns)
	for i := range cs {
		c, _, err := websocket.Dial(dialCtx, *url, &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			fmt.Fprintf(os.Stderr, "wsload: dial %d: %v\n", i, err)
			os.Exit(1)
		}
		cs[i] = c
	}

	ctx, stop := context.WithTimeout(context.Background(), *dur)
	defer stop()
	start := time.Now()
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errors int
		wg     sync.WaitGroup
	)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<14)
			bad := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
					if ctx.Err() == nil {
						bad++
					}
					break
				}
				_, got, err := c.Read(ctx)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					break
				}
				if len(got) != len(msg) {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errors += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	for _, c := range cs {
		c.CloseNow()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(float64(len(lat)-1)*p)]) / float64(time.Millisecond)
	}
	fmt.Printf("messages=%d seconds=%.3f msgs_per_sec=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
		len(lat), elapsed, float64(len(lat))/elapsed, pct(0.50), pct(0.99), errors)
}
