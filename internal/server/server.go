// Package server runs the load balancer: it applies configurations (decode →
// validate → compile → bind → atomic swap), watches the config file, and
// shuts down gracefully. It owns the long-lived pieces that outlive any one
// snapshot: the target registry, connection pools, health checker, sockets
// and the stickiness key.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelb/sluice/internal/balancer"
	"github.com/sluicelb/sluice/internal/certmgr"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/engine"
	"github.com/sluicelb/sluice/internal/health"
	"github.com/sluicelb/sluice/internal/listener"
	"github.com/sluicelb/sluice/internal/metrics"
	"github.com/sluicelb/sluice/internal/observe"
	"github.com/sluicelb/sluice/internal/proxy"
	"github.com/sluicelb/sluice/internal/snapshot"
	"github.com/sluicelb/sluice/internal/target"
	"github.com/sluicelb/sluice/internal/upstream"
)

// Options configures a Server.
type Options struct {
	// DataDir holds state that must survive restarts (the stickiness key).
	// Required.
	DataDir string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// Engine is the HTTP/1.1 engine for client connections: "h1" (sluice's
	// own, the default) or "nethttp" (Go's net/http server). HTTP/2 is
	// always served by net/http.
	Engine string
	// Certs configures the certificate manager; DataDir, Logger and Clock
	// are filled from the fields above when zero.
	Certs certmgr.Options
}

// Engines lists the values Options.Engine accepts.
var Engines = []string{"h1", "nethttp"}

// Server is a running load balancer.
type Server struct {
	engine   string
	log      *slog.Logger
	clock    clock.Clock
	cur      atomic.Pointer[snapshot.Snapshot]
	registry *target.Registry
	pools    *upstream.Pools
	health   *health.Manager
	keyring  *balancer.Keyring
	proxy    *proxy.Proxy
	certs    *certmgr.Manager
	obs      *observe.Observer

	// closing counts removed listeners still draining; Shutdown waits for
	// them.
	closing sync.WaitGroup
	// drainCtx bounds their draining; Shutdown cancels it when its own
	// deadline passes.
	drainCtx    context.Context
	drainCancel context.CancelFunc

	mu      sync.Mutex // serialises Apply and Shutdown
	sockets map[string]*socket
	closed  bool
}

type socket struct {
	s   *listener.Socket
	key engineKey
}

// engineKey is what the HTTP engine of a socket is built from; a change
// replaces the engine without closing the socket.
type engineKey struct {
	idle  time.Duration
	http2 bool
}

// New returns a server with no configuration; call Apply.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.DataDir == "" {
		return nil, errors.New("server: no data dir")
	}
	switch o.Engine {
	case "":
		o.Engine = "h1"
	case "h1", "nethttp":
	default:
		return nil, fmt.Errorf("unknown engine %q: use h1 or nethttp", o.Engine)
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	kr, err := balancer.LoadOrCreateKey(filepath.Join(o.DataDir, "stickiness.key"))
	if err != nil {
		return nil, err
	}
	co := o.Certs
	if co.DataDir == "" {
		co.DataDir = o.DataDir
	}
	if co.Logger == nil {
		co.Logger = o.Logger
	}
	if co.Clock == nil {
		co.Clock = o.Clock
	}
	reg := metrics.NewWithClock(o.Clock)
	if co.OnIssue == nil {
		co.OnIssue = reg.ACME
	}
	cm, err := certmgr.New(co)
	if err != nil {
		return nil, err
	}
	s := &Server{
		certs:    cm,
		engine:   o.Engine,
		log:      o.Logger,
		clock:    o.Clock,
		registry: target.NewRegistry(o.Clock, o.Logger),
		pools:    upstream.NewPools(),
		health:   health.NewManager(health.Options{Clock: o.Clock, Logger: o.Logger}),
		keyring:  kr,
		sockets:  map[string]*socket{},
		obs:      observe.New(reg, o.Logger),
	}
	s.drainCtx, s.drainCancel = context.WithCancel(context.Background())
	s.proxy = proxy.New(&s.cur, o.Clock, o.Logger)
	s.proxy.SetObserver(s.obs)
	reg.SetState(s.metricsState)
	return s, nil
}

// Snapshot returns the configuration being served, or nil before the first
// Apply.
func (s *Server) Snapshot() *snapshot.Snapshot { return s.cur.Load() }

// Registry returns the target registry (for status views).
func (s *Server) Registry() *target.Registry { return s.registry }

// Apply makes cfg, already validated, the configuration being served. On
// error nothing changed: the previous configuration keeps serving.
func (s *Server) Apply(cfg *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("server is shut down")
	}
	certs, err := s.certs.Prepare(cfg)
	if err != nil {
		return err
	}
	prep, err := snapshot.Prepare(cfg, snapshot.Env{Registry: s.registry, Pools: s.pools, Keyring: s.keyring, Clock: s.clock, Certificates: certs})
	if err != nil {
		return err
	}
	// Bind new addresses before anything changes, so that a port in use
	// refuses the whole configuration.
	wantAddrs := prep.ListenerAddrs()
	opened := map[string]*listener.Socket{}
	for _, addr := range wantAddrs {
		if _, ok := s.sockets[addr]; ok {
			continue
		}
		ls, err := listener.Listen(addr, s.tlsFor(addr))
		if err != nil {
			for _, o := range opened {
				o.Close(context.Background())
			}
			return fmt.Errorf("listener %s: %w", addr, err)
		}
		opened[addr] = ls
	}
	if err := s.obs.SetLogs(cfg); err != nil {
		for _, o := range opened {
			o.Close(context.Background())
		}
		return err
	}
	// Sources start before the snapshot that uses them is published; the
	// sockets are bound, so ACME challenges can already be answered.
	s.certs.Commit(certs)
	snap := prep.Commit()
	s.cur.Store(snap)
	for addr, l := range snap.Listeners {
		key := engineKey{idle: l.LB.IdleTimeout, http2: l.LB.HTTP2}
		sk, ok := s.sockets[addr]
		if !ok {
			sk = &socket{s: opened[addr]}
			s.sockets[addr] = sk
		} else if sk.key == key {
			continue
		}
		sk.key = key
		sk.s.Serve(s.newEngine(addr, key))
	}
	for addr, sk := range s.sockets {
		if _, ok := snap.Listeners[addr]; !ok {
			delete(s.sockets, addr)
			s.log.Info("listener removed; draining its connections", "addr", addr)
			s.closing.Add(1)
			go func() {
				defer s.closing.Done()
				sk.s.Close(s.drainCtx)
			}()
		}
	}
	s.health.Sync(snap.Health)
	s.pools.Retain(snap.Pools)
	s.retainMetrics(snap)
	return nil
}

func (s *Server) newEngine(addr string, k engineKey) listener.Engine {
	connCtx := proxy.ConnContext
	if s.engine == "h1" {
		var h2 http.Handler
		if k.http2 {
			h2 = s.proxy.Listener(addr)
		}
		return engine.New(engine.Options{
			Snapshot:    &s.cur,
			Addr:        addr,
			IdleTimeout: k.idle,
			HTTP2:       h2,
			ConnContext: connCtx,
			Clock:       s.clock,
			Log:         s.log,
			Observer:    s.obs,
		})
	}
	return listener.NewHTTPEngine(listener.HTTPOptions{
		Handler:     s.proxy.Listener(addr),
		IdleTimeout: k.idle,
		HTTP2:       k.http2,
		ConnContext: connCtx,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnState: s.obs.ConnState(func() (string, string) {
			if snap := s.cur.Load(); snap != nil {
				if l := snap.Listeners[addr]; l != nil {
					return l.LB.Name, l.ID
				}
			}
			return "", ""
		}),
	})
}

// tlsFor returns the per-connection TLS decision for the socket at addr: the
// current snapshot's listener there decides, so a listener can change
// protocol or certificates without closing its socket.
func (s *Server) tlsFor(addr string) func() *tls.Config {
	return func() *tls.Config {
		snap := s.cur.Load()
		if snap == nil {
			return nil
		}
		if l := snap.Listeners[addr]; l != nil && l.HTTPS {
			return l.TLS
		}
		return nil
	}
}

// Addr returns the bound address of the listener configured at addr
// ("host:port" as in the config), or nil.
func (s *Server) Addr(addr string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk, ok := s.sockets[addr]; ok {
		return sk.s.Addr()
	}
	return nil
}

// Shutdown stops accepting on every listener, lets requests in flight
// finish until ctx ends, then closes what is left and stops health checks.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	socks := s.sockets
	s.sockets = map[string]*socket{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, len(socks))
	for _, sk := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sk.s.Close(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
				errs <- err
			}
		}()
	}
	// Removed listeners still draining get the same deadline.
	drained := make(chan struct{})
	go func() { s.closing.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
		s.drainCancel()
	}
	wg.Wait()
	close(errs)
	s.health.Close()
	s.certs.Close()
	s.obs.Close()
	s.registry.Close()
	s.pools.CloseIdle()
	return errors.Join(collect(errs)...)
}

func collect(ch chan error) []error {
	var out []error
	for e := range ch {
		out = append(out, e)
	}
	return out
}

// Targets returns the registered targets of a group (for the admin API).
func (s *Server) Targets(group string) []*target.Target { return s.registry.Group(group) }

// Draining returns the targets being drained.
func (s *Server) Draining() []target.DrainingTarget { return s.registry.Draining() }

// Certificate returns what the named certificate serves by default now.
func (s *Server) Certificate(name string) *tls.Certificate { return s.certs.Current(name) }

// RenewCertificate renews a local CA or ACME certificate ahead of schedule.
func (s *Server) RenewCertificate(name string) error { return s.certs.Renew(name) }
