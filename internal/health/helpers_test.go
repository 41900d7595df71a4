package health

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/target"
)

const interval = 10 * time.Second

// fixture is a manager on a fake clock whose logs are recorded.
type fixture struct {
	tb   testing.TB
	clk  *clock.Fake
	m    *Manager
	logs *logRecorder
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{tb: tb, clk: clock.NewFake(time.Unix(1_700_000_000, 0)), logs: &logRecorder{}}
	f.m = NewManager(Options{Clock: f.clk, Logger: slog.New(f.logs)})
	tb.Cleanup(f.m.Close)
	return f
}

// settings returns enabled settings with short thresholds, changed by mods.
func settings(mods ...func(*Settings)) Settings {
	s := Settings{Enabled: true, Interval: interval, Timeout: 2 * time.Second,
		HealthyThreshold: 3, UnhealthyThreshold: 2}
	for _, mod := range mods {
		mod(&s)
	}
	return s
}

// sync1 syncs one group "g" with the given targets.
func (f *fixture) sync1(s Settings, ts ...*target.Target) {
	f.m.Sync([]GroupSpec{{Name: "g", Settings: s, Targets: ts}})
}

// tick advances the fake clock by one interval (or d), running the probes
// that fall due.
func (f *fixture) tick(d ...time.Duration) {
	if len(d) == 0 {
		f.clk.Advance(interval)
		return
	}
	f.clk.Advance(d[0])
}

func (f *fixture) want(tg *target.Target, state target.State, reason target.Reason) *target.Health {
	f.tb.Helper()
	h := tg.Health()
	if h.State != state || h.Reason != reason {
		f.tb.Fatalf("health = %s/%s (%q), want %s/%s", h.State, h.Reason, h.Description, state, reason)
	}
	return h
}

// newTarget returns a target in group "g" at hostport.
func newTarget(tb testing.TB, clk clock.Clock, hostport string) *target.Target {
	tb.Helper()
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		tb.Fatal(err)
	}
	return target.New(target.Key{Group: "g", ID: host, Port: p}, clk.Now())
}

// backend is an HTTP target answering with a settable status and counting
// requests.
type backend struct {
	*httptest.Server
	status atomic.Int64
	hits   atomic.Int64
	mu     sync.Mutex
	paths  []string
}

func newBackend(tb testing.TB, status int) *backend {
	b := &backend{}
	b.status.Store(int64(status))
	b.Server = httptest.NewServer(b)
	tb.Cleanup(b.Close)
	return b
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	b.mu.Lock()
	b.paths = append(b.paths, r.URL.RequestURI())
	b.mu.Unlock()
	w.WriteHeader(int(b.status.Load()))
}

func (b *backend) addr() string { return b.Listener.Addr().String() }

func (b *backend) lastPath() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.paths) == 0 {
		return ""
	}
	return b.paths[len(b.paths)-1]
}

// hangingListener accepts connections and never answers; accepted gets a
// value per connection.
func hangingListener(tb testing.TB) (addr string, accepted <-chan struct{}) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ch := make(chan struct{}, 100)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			ch <- struct{}{}
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), ch
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// changes returns the attrs of every info-level "target health changed".
func (l *logRecorder) changes() []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.records {
		if r.Message != "target health changed" || r.Level != slog.LevelInfo {
			continue
		}
		attrs := make(map[string]string)
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}
