// Command backend is the target every proxy in the benchmark forwards to.
// It answers / with "ok", /16k with 16 KiB, POST /upload by discarding the
// body, and /ws by echoing WebSocket messages. It is deliberately minimal so
// that the proxies, not the backend, dominate the measurements.
package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:28000", "HTTP listen address")
	tlsAddr := flag.String("tls-addr", "", "HTTPS listen address for the direct reference runs; empty disables it")
	cert := flag.String("cert", "", "certificate file for -tls-addr")
	key := flag.String("key", "", "key file for -tls-addr")
	flag.Parse()

	h := handler()
	errc := make(chan error, 2)
	go func() { errc <- newServer(*addr, h).ListenAndServe() }()
	if *tlsAddr != "" {
		go func() { errc <- newServer(*tlsAddr, h).ListenAndServeTLS(*cert, *key) }()
	}
	log.Fatal(<-errc)
}

func newServer(addr string, h http.Handler) *http.Server {
	return &http.Server{Addr: addr, Handler: h, IdleTimeout: 10 * time.Minute, ErrorLog: log.New(io.Discard, "", 0)}
}

func handler() http.Handler {
	ok := []byte("ok")
	big := bytes.Repeat([]byte("x"), 16<<10)
	okLen := strconv.Itoa(len(ok))
	bigLen := strconv.Itoa(len(big))
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = []string{okLen}
		w.Write(ok)
	})
	mux.HandleFunc("/16k", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = []string{bigLen}
		w.Write(big)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header()["Content-Length"] = []string{okLen}
		w.Write(ok)
	})
	mux.HandleFunc("/ws", echo)
	return mux
}

// echo sends every WebSocket message back unchanged until the client
// closes the connection.
func echo(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}
