package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluicelb/sluice/internal/clock"
)

// Registry records the load balancer's metrics and serves them. Its methods
// are safe for concurrent use; the zero value is not usable, call New.
type Registry struct {
	clock clock.Clock

	listeners sync.Map // ListenerKey → *listenerSeries
	groups    sync.Map // GroupKey → *groupSeries
	targets   sync.Map // TargetKey → *targetSeries
	acme      sync.Map // certificate name → *resultSeries
	reloads   sync.Map // source → *resultSeries

	lastReload atomic.Int64 // Unix nanoseconds of the last successful reload; 0 before it
	state      atomic.Pointer[func() State]
	logDropped atomic.Pointer[func() uint64]

	handler http.Handler
}

var _ prometheus.Collector = (*Registry)(nil)

// New returns an empty Registry on the wall clock.
func New() *Registry { return NewWithClock(clock.Real{}) }

// NewWithClock returns an empty Registry that stamps configuration reloads
// with c's time.
func NewWithClock(c clock.Clock) *Registry {
	r := &Registry{clock: c}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector that fails (the process collector off Linux, say)
		// should cost its own metrics, not the whole scrape.
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	return r
}

// Handler serves the metrics, together with the Go runtime's and the
// process's, in the Prometheus text format (or OpenMetrics, when the scraper
// asks for it).
func (r *Registry) Handler() http.Handler { return r.handler }

// State is what the Registry asks for at scrape time rather than being told
// as it changes.
type State struct {
	Groups       []GroupHealth
	Certificates []CertExpiry
}

// GroupHealth counts a target group's targets by health.
type GroupHealth struct {
	LoadBalancer, TargetGroup string
	Healthy, Unhealthy        int
}

// CertExpiry is when a certificate stops being valid.
type CertExpiry struct {
	Name     string
	NotAfter time.Time
}

// SetState sets the function each scrape calls for health and certificate
// state; nil (the default) exports none. f must be safe to call from any
// goroutine and should be quick: it runs while the scraper waits.
func (r *Registry) SetState(f func() State) {
	if f == nil {
		r.state.Store(nil)
		return
	}
	r.state.Store(&f)
}

// SetAccessLogDropped sets the function each scrape calls for the number of
// access log lines dropped so far (accesslog.Writer.Dropped); nil (the
// default) exports none. A new Writer starting from zero reads as a counter
// reset, which Prometheus handles.
func (r *Registry) SetAccessLogDropped(f func() uint64) {
	if f == nil {
		r.logDropped.Store(nil)
		return
	}
	r.logDropped.Store(&f)
}

// loadOrNew returns the series under k in m, creating it on first use. The
// Load fast path allocates nothing.
func loadOrNew[K comparable, V any](m *sync.Map, k K) *V {
	if v, ok := m.Load(k); ok {
		return v.(*V)
	}
	v, _ := m.LoadOrStore(k, new(V))
	return v.(*V)
}

func (r *Registry) listener(lb, l string) *listenerSeries {
	return loadOrNew[ListenerKey, listenerSeries](&r.listeners, ListenerKey{lb, l})
}

func (r *Registry) group(lb, tg string) *groupSeries {
	return loadOrNew[GroupKey, groupSeries](&r.groups, GroupKey{lb, tg})
}

func (r *Registry) target(lb, tg, t string) *targetSeries {
	return loadOrNew[TargetKey, targetSeries](&r.targets, TargetKey{lb, tg, t})
}

// Keep says which series survive Retain; a nil function keeps every series
// of its kind.
type Keep struct {
	Listener    func(ListenerKey) bool
	TargetGroup func(GroupKey) bool
	Target      func(TargetKey) bool
	// Certificate decides for the ACME issuance counters.
	Certificate func(name string) bool
}

// Retain drops the series keep rejects, so removed listeners, target groups
// and targets stop being exported; the server calls it after each
// configuration change. A listener's series survive while it still has
// open connections (a draining listener), so closing them cannot drive its
// active connection gauge negative; the next Retain after they close drops
// it.
//
// A request recorded concurrently with Retain into a series being dropped is
// lost with it.
func (r *Registry) Retain(keep Keep) {
	if keep.Listener != nil {
		r.listeners.Range(func(k, v any) bool {
			if !keep.Listener(k.(ListenerKey)) && v.(*listenerSeries).active.Load() == 0 {
				r.listeners.CompareAndDelete(k, v)
			}
			return true
		})
	}
	retain(&r.groups, keep.TargetGroup)
	retain(&r.targets, keep.Target)
	retain(&r.acme, keep.Certificate)
}

func retain[K comparable](m *sync.Map, keep func(K) bool) {
	if keep == nil {
		return
	}
	m.Range(func(k, _ any) bool {
		if !keep(k.(K)) {
			m.Delete(k)
		}
		return true
	})
}
