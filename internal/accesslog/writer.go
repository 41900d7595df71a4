package accesslog

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
)

// Options configures a Writer. The zero value writes ALB-format lines to
// standard output.
type Options struct {
	// Path is the file lines are appended to, created with mode 0640 if
	// missing. "", "-" and "stdout" mean standard output, which is never
	// rotated or reopened.
	Path string
	// Format is "alb" (ALB's access log format; the default when empty) or
	// "json" (one JSON object per line, see AppendJSON).
	Format string
	// BufferLines is how many formatted lines may wait for the background
	// writer; 0 means 8192. A line that finds the queue full is dropped and
	// counted (Dropped) rather than slowing the request that wrote it.
	BufferLines int
	// MaxSizeMB rotates the file before it would grow past this many MiB:
	// PATH becomes PATH.1, PATH.1 becomes PATH.2 and so on. 0 means never
	// (leave it to logrotate and Reopen). Ignored for standard output.
	MaxSizeMB int
	// MaxBackups is how many rotated files (PATH.1 … PATH.N) are kept; 0
	// means 5.
	MaxBackups int
	// FlushInterval bounds how long a line may sit in memory; 0 means 1s.
	// The writer also flushes whenever its 64 KiB buffer is full.
	FlushInterval time.Duration
	// Logger receives write errors, at most one message a minute; nil means
	// they are only counted (Errors).
	Logger *slog.Logger
}

const (
	defaultBufferLines   = 8192
	defaultMaxBackups    = 5
	defaultFlushInterval = time.Second
	// bufSize is the bufio.Writer's buffer: a batch of ~150 lines per
	// write(2) under load.
	bufSize = 64 << 10
	// maxPooledLine keeps a rare huge line's buffer out of the pool.
	maxPooledLine = 16 << 10
	errorLogEvery = time.Minute
)

// ErrClosed is returned by Reopen after Close.
var ErrClosed = errors.New("accesslog: writer closed")

// Writer writes access log lines without making requests wait: Write formats
// the entry in the caller's goroutine and hands the line to a single
// background goroutine through a bounded queue, dropping it when the queue
// is full. Its methods are safe for concurrent use.
type Writer struct {
	json    bool
	queue   chan *[]byte
	ctl     chan ctlReq
	tick    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	dropped atomic.Uint64
	errs    atomic.Uint64

	closeOnce sync.Once
	closeErr  error

	// Owned by the background goroutine.
	out      *output
	bw       *bufio.Writer
	clk      clock.Clock
	interval time.Duration
	timer    clock.Timer
	log      *slog.Logger
	lastLog  time.Time
}

type ctlReq struct {
	close bool
	reply chan error
}

var linePool = sync.Pool{New: func() any {
	b := make([]byte, 0, 1024)
	return &b
}}

// New starts a Writer. It opens the file (if any) at once, so a bad path is
// an error here rather than a stream of dropped lines later.
func New(o Options) (*Writer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	out := &output{w: os.Stdout}
	switch o.Path {
	case "", "-", "stdout":
	default:
		f, size, err := openLog(o.Path)
		if err != nil {
			return nil, fmt.Errorf("opening access log: %w", err)
		}
		out = &output{
			w: f, f: f, path: o.Path, size: size,
			maxSize: int64(o.MaxSizeMB) << 20, backups: o.MaxBackups,
		}
	}
	return start(o, out, clock.Real{}), nil
}

func (o Options) withDefaults() (Options, error) {
	switch o.Format {
	case "":
		o.Format = "alb"
	case "alb", "json":
	default:
		return o, fmt.Errorf("accesslog: format %q: want alb or json", o.Format)
	}
	if o.BufferLines < 0 || o.MaxSizeMB < 0 || o.MaxBackups < 0 || o.FlushInterval < 0 {
		return o, fmt.Errorf("accesslog: buffer_lines, max_size_mb, max_backups and flush_interval cannot be negative")
	}
	if o.BufferLines == 0 {
		o.BufferLines = defaultBufferLines
	}
	if o.MaxBackups == 0 {
		o.MaxBackups = defaultMaxBackups
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = defaultFlushInterval
	}
	return o, nil
}

// start runs a Writer over out; o must have its defaults.
func start(o Options, out *output, clk clock.Clock) *Writer {
	w := &Writer{
		json:     o.Format == "json",
		queue:    make(chan *[]byte, o.BufferLines),
		ctl:      make(chan ctlReq),
		tick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		out:      out,
		bw:       bufio.NewWriterSize(out, bufSize),
		clk:      clk,
		interval: o.FlushInterval,
		log:      o.Logger,
	}
	w.timer = clk.AfterFunc(w.interval, w.signalTick)
	go w.run()
	return w
}

// Write formats e and queues the line. It never blocks: when the queue is
// full, or the Writer is closed, the line is dropped and counted. e is not
// kept.
func (w *Writer) Write(e *Entry) {
	if w.closed.Load() {
		w.dropped.Add(1)
		return
	}
	b := linePool.Get().(*[]byte)
	if w.json {
		*b = AppendJSON((*b)[:0], e)
	} else {
		*b = AppendALB((*b)[:0], e)
	}
	select {
	case w.queue <- b:
	default:
		w.dropped.Add(1)
		putLine(b)
	}
}

// Dropped returns how many lines were dropped because the queue was full or
// the Writer closed.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Errors returns how many writes, flushes, rotations and reopens failed.
func (w *Writer) Errors() uint64 { return w.errs.Load() }

// Reopen writes out what is queued, then closes the file and opens its path
// again, creating it (mode 0640) if missing: call it on SIGUSR1 after
// logrotate has moved the file away. If the path cannot be opened, lines
// keep going to the old file and the error is returned. It does nothing for
// standard output.
func (w *Writer) Reopen() error {
	return w.control(false)
}

// Close writes out what is queued, flushes, closes the file (not standard
// output) and stops the background goroutine. Lines written afterwards are
// dropped and counted; one written while Close runs may be lost uncounted.
// Calling it again returns the first call's result.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		w.closeErr = w.control(true)
	})
	return w.closeErr
}

func (w *Writer) control(close bool) error {
	r := ctlReq{close: close, reply: make(chan error, 1)}
	select {
	case w.ctl <- r:
		return <-r.reply
	case <-w.done:
		return ErrClosed
	}
}

func (w *Writer) signalTick() {
	select {
	case w.tick <- struct{}{}:
	default:
	}
}

func (w *Writer) run() {
	defer close(w.done)
	for {
		select {
		case b := <-w.queue:
			// No flush here: a write system call per line would cost the
			// request path more than the formatting. The buffer goes out
			// when full and at every tick.
			w.writeLine(b)
			w.drain()
		case <-w.tick:
			w.flush()
			w.timer = w.clk.AfterFunc(w.interval, w.signalTick)
		case r := <-w.ctl:
			w.drain()
			w.flush()
			if r.close {
				w.timer.Stop()
				r.reply <- w.shutdown()
				return
			}
			err := w.out.reopen()
			if err != nil {
				w.failed("reopen", err)
			}
			r.reply <- err
		}
	}
}

// drain writes the lines queued now, and no more, so a steady stream of
// lines cannot starve the ticker or a Reopen.
func (w *Writer) drain() {
	for n := len(w.queue); n > 0; n-- {
		w.writeLine(<-w.queue)
	}
}

func (w *Writer) writeLine(b *[]byte) {
	line := *b
	if w.out.needsRotation(len(line)) {
		w.flush()
		if err := w.out.rotate(); err != nil {
			w.failed("rotate", err)
			// Try again after another MaxSizeMB rather than on every line.
			w.out.size = 0
		}
	}
	if _, err := w.bw.Write(line); err != nil {
		w.failed("write", err)
		w.bw.Reset(w.out)
	}
	w.out.size += int64(len(line))
	putLine(b)
}

func (w *Writer) flush() error {
	if w.bw.Buffered() == 0 {
		return nil
	}
	err := w.bw.Flush()
	if err != nil {
		w.failed("flush", err)
		// bufio.Writer keeps its first error forever; start over, losing
		// what it held, so later lines get their chance.
		w.bw.Reset(w.out)
	}
	return err
}

func (w *Writer) shutdown() error {
	err := w.flush()
	if cerr := w.out.close(); cerr != nil {
		w.failed("close", cerr)
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("closing access log: %w", err)
	}
	return nil
}

// failed counts an error and logs it, at most once per errorLogEvery.
func (w *Writer) failed(op string, err error) {
	n := w.errs.Add(1)
	if w.log == nil {
		return
	}
	now := w.clk.Now()
	if !w.lastLog.IsZero() && now.Sub(w.lastLog) < errorLogEvery {
		return
	}
	w.lastLog = now
	w.log.Error("access log write failed", "op", op, "path", w.out.path, "err", err, "errors", n)
}

func putLine(b *[]byte) {
	if cap(*b) <= maxPooledLine {
		linePool.Put(b)
	}
}
