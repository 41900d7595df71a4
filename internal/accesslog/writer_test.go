package accesslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
)

// newTestWriter starts a Writer over sink (instead of a file) on clk.
func newTestWriter(t *testing.T, o Options, sink io.Writer, clk clock.Clock) *Writer {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	w := start(o, &output{w: sink}, clk)
	t.Cleanup(func() { w.Close() })
	return w
}

func newFileWriter(t *testing.T, o Options) *Writer {
	t.Helper()
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// numbered returns entry i, told apart by its trace ID.
func numbered(i int) *Entry {
	e := formatCases()[0].e
	e.TraceID = fmt.Sprintf("line-%06d", i)
	return &e
}

// traceIDs reads an ALB-format file and returns its lines' trace IDs.
func traceIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m, err := ParseALB(sc.Text())
		if err != nil {
			t.Fatalf("%s line %d: %v", path, len(ids)+1, err)
		}
		ids = append(ids, m["trace_id"])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func wantIDs(from, to int) []string {
	var ids []string
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("line-%06d", i))
	}
	return ids
}

func equalIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: got %d lines %v…, want %d lines %v…", what, len(got), head(got), len(want), head(want))
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func TestWriterWritesInOrder(t *testing.T) {
	const n = 3000
	for _, format := range []string{"alb", "json"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "access.log")
			w := newFileWriter(t, Options{Path: path, Format: format, BufferLines: n})
			for i := range n {
				w.Write(numbered(i))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if d := w.Dropped(); d != 0 {
				t.Fatalf("dropped %d lines with room for all", d)
			}
			var got []string
			if format == "alb" {
				got = traceIDs(t, path)
			} else {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				for line := range strings.Lines(string(data)) {
					var m map[string]string
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Fatalf("line %d: %v", len(got)+1, err)
					}
					got = append(got, m["trace_id"])
				}
			}
			equalIDs(t, path, got, wantIDs(0, n))
		})
	}
}

func TestWriterCreatesFileWithMode0640(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	w := newFileWriter(t, Options{Path: path})
	w.Write(numbered(0))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The umask may take bits away, never add them.
	if perm := fi.Mode().Perm(); perm&^0o640 != 0 {
		t.Errorf("mode %v, want at most 0640", perm)
	}
}

func TestWriterAppendsToExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	for run := range 2 {
		w := newFileWriter(t, Options{Path: path})
		w.Write(numbered(run))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	equalIDs(t, path, traceIDs(t, path), wantIDs(0, 2))
}

// blockingSink holds every Write until release is closed.
type blockingSink struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (s *blockingSink) Write(p []byte) (int, error) {
	<-s.release
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func TestWriteNeverBlocksAndCountsDrops(t *testing.T) {
	const n = 100_000
	sink := &blockingSink{release: make(chan struct{})}
	w := newTestWriter(t, Options{BufferLines: 16}, sink, clock.Real{})

	done := make(chan struct{})
	go func() {
		defer close(done)
		e := numbered(0)
		for range n {
			w.Write(e)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("100k Writes against a stuck destination did not return in 10s")
	}
	dropped := w.Dropped()
	if dropped == 0 {
		t.Fatal("no line dropped although the destination never took one")
	}

	close(sink.release)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	written := uint64(bytes.Count(sink.buf.Bytes(), []byte{'\n'}))
	if written+dropped != n {
		t.Errorf("written %d + dropped %d = %d, want %d", written, dropped, written+dropped, n)
	}
	t.Logf("written %d, dropped %d", written, dropped)
}

func TestWriterConcurrentWriters(t *testing.T) {
	const writers, each = 8, 2000
	var sink bytes.Buffer
	w := newTestWriter(t, Options{BufferLines: writers * each}, &sink, clock.Real{})
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				w.Write(numbered(g*each + i))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for line := range strings.Lines(sink.String()) {
		m, err := ParseALB(line)
		if err != nil {
			t.Fatal(err)
		}
		seen[m["trace_id"]] = true
	}
	if len(seen) != writers*each || w.Dropped() != 0 {
		t.Errorf("%d distinct lines, %d dropped; want %d and 0", len(seen), w.Dropped(), writers*each)
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	w := newFileWriter(t, Options{Path: path})
	for i := range 100 {
		w.Write(numbered(i))
	}
	// logrotate moves the file, then signals; lines queued before the signal
	// land in the moved file.
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 150; i++ {
		w.Write(numbered(i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "moved file", traceIDs(t, path+".moved"), wantIDs(0, 100))
	equalIDs(t, "new file", traceIDs(t, path), wantIDs(100, 150))
}

func TestReopenFailureKeepsWritingToOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "access.log")
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	w := newFileWriter(t, Options{Path: path})
	w.Write(numbered(0))
	// The whole directory goes away: PATH cannot be created again.
	moved := filepath.Join(dir, "logs.old")
	if err := os.Rename(filepath.Dir(path), moved); err != nil {
		t.Fatal(err)
	}
	if err := w.Reopen(); err == nil {
		t.Fatal("Reopen succeeded although the directory is gone")
	}
	if w.Errors() != 1 {
		t.Errorf("Errors() = %d, want 1", w.Errors())
	}
	w.Write(numbered(1))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, "old file", traceIDs(t, filepath.Join(moved, "access.log")), wantIDs(0, 2))
}

func TestSizeRotation(t *testing.T) {
	const n, maxBackups = 4000, 3
	path := filepath.Join(t.TempDir(), "access.log")
	w := newFileWriter(t, Options{Path: path, MaxSizeMB: 1, MaxBackups: maxBackups, BufferLines: n})
	for i := range n {
		e := numbered(i)
		e.UserAgent = strings.Repeat("x", 1000) // ~1.3 KB lines: about 800 a file
		w.Write(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Dropped() != 0 || w.Errors() != 0 {
		t.Fatalf("dropped %d, errors %d", w.Dropped(), w.Errors())
	}
	if _, err := os.Stat(fmt.Sprintf("%s.%d", path, maxBackups+1)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PATH.%d: %v, want it not to exist", maxBackups+1, err)
	}
	// Oldest first: PATH.3, PATH.2, PATH.1, PATH.
	var all []string
	for i := maxBackups; i >= 0; i-- {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1<<20 {
			t.Errorf("%s is %d bytes, more than MaxSizeMB", p, fi.Size())
		}
		if i > 0 && fi.Size() < 1<<20-2000 {
			t.Errorf("%s is %d bytes: rotated well before MaxSizeMB", p, fi.Size())
		}
		all = append(all, traceIDs(t, p)...)
	}
	if len(all) == 0 || len(all) == n {
		t.Fatalf("%d lines kept of %d: want the oldest rotated away", len(all), n)
	}
	// The kept files hold the newest lines, contiguous and in order.
	equalIDs(t, "rotated files", all, wantIDs(n-len(all), n))
}

func TestCloseFlushesEverything(t *testing.T) {
	const n = 5000
	path := filepath.Join(t.TempDir(), "access.log")
	o, err := Options{Path: path, BufferLines: n, FlushInterval: time.Hour}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	f, size, err := openLog(path)
	if err != nil {
		t.Fatal(err)
	}
	// A fake clock that never advances: no flush comes from the ticker.
	w := start(o, &output{w: f, f: f, path: path, size: size}, clock.NewFake(t0))
	for i := range n {
		w.Write(numbered(i))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	equalIDs(t, path, traceIDs(t, path), wantIDs(0, n))
}

// failingSink fails every Write.
type failingSink struct{}

func (failingSink) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorsAreCountedAndLoggedOncePerMinute(t *testing.T) {
	var logs bytes.Buffer
	clk := clock.NewFake(t0)
	w := newTestWriter(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, failingSink{}, clk)
	messages := func() int { return strings.Count(logs.String(), "access log write failed") }

	// Reopen does nothing for a plain writer, but first writes out what is
	// queued: a barrier.
	w.Write(numbered(0))
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	first := w.Errors()
	if first == 0 || messages() != 1 {
		t.Fatalf("errors %d, log messages %d; want >0 and 1\n%s", first, messages(), logs.String())
	}
	w.Write(numbered(1))
	w.Reopen()
	if w.Errors() <= first || messages() != 1 {
		t.Fatalf("second failure: errors %d, log messages %d; want >%d and still 1", w.Errors(), messages(), first)
	}
	clk.Advance(time.Minute)
	w.Write(numbered(2))
	w.Reopen()
	if messages() != 2 {
		t.Fatalf("a minute later: %d log messages, want 2\n%s", messages(), logs.String())
	}
	if !strings.Contains(logs.String(), "disk full") {
		t.Errorf("log does not name the error:\n%s", logs.String())
	}
}

func TestWriterAfterClose(t *testing.T) {
	var sink bytes.Buffer
	w := newTestWriter(t, Options{}, &sink, clock.Real{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Write(numbered(0))
	if w.Dropped() != 1 {
		t.Errorf("Dropped() = %d after a write to a closed Writer, want 1", w.Dropped())
	}
	if err := w.Reopen(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reopen after Close = %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestNewStdout(t *testing.T) {
	for _, path := range []string{"", "-", "stdout"} {
		w, err := New(Options{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if w.out.f != nil {
			t.Errorf("Path %q opened a file", path)
		}
		if err := w.Reopen(); err != nil {
			t.Errorf("Reopen on stdout: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close on stdout: %v", err)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"unknown format", Options{Format: "clf"}},
		{"negative buffer", Options{BufferLines: -1}},
		{"negative size", Options{MaxSizeMB: -1}},
		{"negative backups", Options{MaxBackups: -1}},
		{"negative interval", Options{FlushInterval: -time.Second}},
		{"missing directory", Options{Path: filepath.Join(dir, "nope", "access.log")}},
		{"path is a directory", Options{Path: dir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w, err := New(tc.o); err == nil {
				w.Close()
				t.Errorf("New(%+v) succeeded, want an error", tc.o)
			}
		})
	}
}

func TestWriteDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	w := newTestWriter(t, Options{}, io.Discard, clock.Real{})
	e := numbered(0)
	// AllocsPerRun runs on one P: yield so the background goroutine writes
	// each line and returns its buffer to the pool, as it keeps up in
	// production. (While it falls behind, each queued line holds a buffer.)
	write := func() {
		w.Write(e)
		runtime.Gosched()
	}
	for range 100 {
		write()
	}
	if n := testing.AllocsPerRun(1000, write); n != 0 {
		t.Errorf("%v allocations per Write, want 0", n)
	}
}

func BenchmarkWrite(b *testing.B) {
	o, _ := Options{}.withDefaults()
	w := start(o, &output{w: io.Discard}, clock.Real{})
	defer w.Close()
	e := formatCases()[5].e
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Write(&e)
		}
	})
	b.ReportMetric(float64(w.Dropped())/float64(b.N), "dropped/op")
}
