// Package observe is where the data plane reports what it did: every
// request, as an accesslog.Entry, goes to the metrics and to its load
// balancer's access log; connection events go to the metrics. The server
// keeps one Observer across configurations and tells it which access logs
// the current one wants.
package observe

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/sluicelb/sluice/internal/accesslog"
	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/metrics"
)

// Observer receives what the data plane reports. A nil *Observer ignores
// everything, so engines need no checks.
type Observer struct {
	Metrics *metrics.Registry
	log     *slog.Logger

	// logs maps load balancer names to their access log writer; swapped
	// as a whole on each configuration.
	logs atomic.Pointer[map[string]*accesslog.Writer]

	mu      sync.Mutex // serialises SetLogs, Reopen and Close
	writers map[logKey]*logWriter
	dropped atomic.Uint64 // lines dropped by writers since closed
}

// logKey identifies a writer: load balancers with the same settings share
// one.
type logKey struct {
	path, format       string
	maxSize, maxBackup int
}

type logWriter struct {
	w    *accesslog.Writer
	used bool
}

// New returns an observer recording into m.
func New(m *metrics.Registry, log *slog.Logger) *Observer {
	if log == nil {
		log = slog.Default()
	}
	o := &Observer{Metrics: m, log: log, writers: map[logKey]*logWriter{}}
	o.logs.Store(&map[string]*accesslog.Writer{})
	if m != nil {
		m.SetAccessLogDropped(o.Dropped)
	}
	return o
}

// Logging reports whether the named load balancer writes an access log:
// the engines fill the entry's text fields only then.
func (o *Observer) Logging(lb string) bool {
	if o == nil {
		return false
	}
	return (*o.logs.Load())[lb] != nil
}

// Request records one finished request.
func (o *Observer) Request(e *accesslog.Entry) {
	if o == nil {
		return
	}
	if o.Metrics != nil {
		o.Metrics.Request(e)
	}
	if w := (*o.logs.Load())[e.LoadBalancer]; w != nil {
		w.Write(e)
	}
}

// ConnOpened and ConnClosed track client connections of a listener.
func (o *Observer) ConnOpened(lb, listener string) {
	if o != nil && o.Metrics != nil {
		o.Metrics.ConnOpened(lb, listener)
	}
}

// ConnClosed is ConnOpened's counterpart.
func (o *Observer) ConnClosed(lb, listener string) {
	if o != nil && o.Metrics != nil {
		o.Metrics.ConnClosed(lb, listener)
	}
}

// TLSError counts a failed client TLS handshake.
func (o *Observer) TLSError(lb, listener string) {
	if o != nil && o.Metrics != nil {
		o.Metrics.TLSError(lb, listener)
	}
}

// TargetConnError counts a failed connection to a target.
func (o *Observer) TargetConnError(lb, group, target string, tlsFailed bool) {
	if o == nil || o.Metrics == nil {
		return
	}
	if tlsFailed {
		o.Metrics.TargetTLSError(lb, group, target)
		return
	}
	o.Metrics.TargetConnError(lb, group, target)
}

// SetLogs opens the access logs cfg asks for, keeps the ones it still uses
// and closes the others. On error nothing changes.
func (o *Observer) SetLogs(cfg *config.Config) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, lw := range o.writers {
		lw.used = false
	}
	next := map[string]*accesslog.Writer{}
	var opened []logKey
	for _, lb := range cfg.LoadBalancers {
		al := lb.AccessLogs
		if !al.On() {
			continue
		}
		k := logKey{cfg.Resolve(al.Path), al.Format, al.MaxSizeMB, al.MaxBackups}
		lw := o.writers[k]
		if lw == nil {
			w, err := o.open(k)
			if err != nil {
				for _, k := range opened {
					o.writers[k].w.Close()
					delete(o.writers, k)
				}
				return fmt.Errorf("load balancer %s: access log %s: %w", lb.Name, al.Path, err)
			}
			opened = append(opened, k)
			lw = &logWriter{w: w}
			o.writers[k] = lw
		}
		lw.used = true
		next[lb.Name] = lw.w
	}
	o.logs.Store(&next)
	for k, lw := range o.writers {
		if !lw.used {
			delete(o.writers, k)
			o.dropped.Add(lw.w.Dropped())
			lw.w.Close()
		}
	}
	return nil
}

// open starts a writer for k, creating the log's folder as a log daemon
// would.
func (o *Observer) open(k logKey) (*accesslog.Writer, error) {
	if k.path != "" && k.path != "-" && k.path != "stdout" {
		if err := os.MkdirAll(filepath.Dir(k.path), 0o750); err != nil {
			return nil, err
		}
	}
	return accesslog.New(accesslog.Options{Path: k.path, Format: k.format, MaxSizeMB: k.maxSize, MaxBackups: k.maxBackup, Logger: o.log})
}

// Reopen reopens every access log file, for logrotate (SIGUSR1).
func (o *Observer) Reopen() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var errs []error
	for _, lw := range o.writers {
		if err := lw.w.Reopen(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dropped counts the access log lines dropped because a writer fell
// behind.
func (o *Observer) Dropped() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.dropped.Load()
	for _, lw := range o.writers {
		n += lw.w.Dropped()
	}
	return n
}

// Close flushes and closes the access logs.
func (o *Observer) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.logs.Store(&map[string]*accesslog.Writer{})
	var errs []error
	for k, lw := range o.writers {
		o.dropped.Add(lw.w.Dropped())
		if err := lw.w.Close(); err != nil {
			errs = append(errs, err)
		}
		delete(o.writers, k)
	}
	return errors.Join(errs...)
}

// ConnState returns a net/http ConnState hook that counts the server's
// connections against the listener names reports when each one opens.
func (o *Observer) ConnState(names func() (lb, listener string)) func(net.Conn, http.ConnState) {
	if o == nil {
		return nil
	}
	var open sync.Map // net.Conn → [2]string
	return func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			if lb, id := names(); lb != "" {
				open.Store(c, [2]string{lb, id})
				o.ConnOpened(lb, id)
			}
		case http.StateClosed, http.StateHijacked:
			if v, ok := open.LoadAndDelete(c); ok {
				n := v.([2]string)
				o.ConnClosed(n[0], n[1])
			}
		}
	}
}
