package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/sluicelb/sluice/internal/api"
	"github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/server"
	"github.com/sluicelb/sluice/internal/store"
)

// DefaultAdminAddr is where the admin API listens unless told otherwise.
const DefaultAdminAddr = "127.0.0.1:9900"

// StoreFile is the embedded store's file name inside the data dir.
const StoreFile = "sluice.db"

// instance is a running sluice: server, store, control plane and admin API.
type instance struct {
	srv   *server.Server
	store store.Store
	plane *controlplane.Plane
	admin *http.Server
	// metrics serves /metrics alone, without a token (--metrics-addr).
	metrics *http.Server
	log     *slog.Logger
}

type instanceOptions struct {
	c         common
	file      string
	adminAddr string
	// store overrides the embedded store in the data dir (the demo runs
	// on a store of its own in memory).
	store store.Store
	// storePath is the bbolt file; empty means DATA-DIR/sluice.db.
	storePath string
	// metricsAddr, if set, serves /metrics there without a token.
	metricsAddr string
	stderr      io.Writer
}

// start opens the store, applies the file and the stored state, and
// starts the admin API. On error everything opened is closed again.
func start(o instanceOptions) (_ *instance, err error) {
	log, err := o.c.logger(o.stderr)
	if err != nil {
		return nil, err
	}
	in := &instance{log: log}
	defer func() {
		if err != nil {
			in.close()
		}
	}()
	in.store = o.store
	if in.store == nil {
		path := o.storePath
		if path == "" {
			path = filepath.Join(o.c.dataDir, StoreFile)
		}
		b, err := store.OpenBolt(path, 2*time.Second)
		if err != nil {
			return nil, err
		}
		in.store = b
	}
	if in.srv, err = server.New(server.Options{DataDir: o.c.dataDir, Logger: log, Engine: o.c.engine}); err != nil {
		return nil, err
	}
	in.plane = controlplane.New(controlplane.Options{Store: in.store, Server: in.srv, DataDir: o.c.dataDir, File: o.file, Logger: log,
		Changed: in.srv.MetricsRegistry().ConfigReload})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := in.plane.Start(ctx); err != nil {
		return nil, err
	}
	if o.metricsAddr != "" {
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return nil, fmt.Errorf("metrics listener on %s: %w", o.metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", in.srv.Metrics())
		in.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
		go in.metrics.Serve(ln)
		log.Info("metrics listening, without a token", "addr", ln.Addr().String())
	}
	if o.adminAddr == "" || o.adminAddr == "off" {
		return in, nil
	}
	token, created, err := api.LoadOrCreateToken(o.c.dataDir)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	ln, err := net.Listen("tcp", o.adminAddr)
	if err != nil {
		return nil, fmt.Errorf("admin API on %s: %w (pick another with --admin-addr, or --admin-addr off)", o.adminAddr, err)
	}
	if host, _, _ := net.SplitHostPort(o.adminAddr); !isLoopback(host) {
		log.Warn("the admin API listens beyond this machine; anyone who can reach it and has the token can change the load balancer", "addr", o.adminAddr)
	}
	in.admin = &http.Server{
		Handler:           api.New(api.Options{Plane: in.plane, Runtime: in.srv, Token: token, Logger: log, Metrics: in.srv.Metrics()}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go in.admin.Serve(ln)
	log.Info("admin API listening", "addr", ln.Addr().String())
	if created {
		// Printed once; "sluice admin token" prints it again.
		fmt.Fprintf(o.stderr, "\nadmin API token (stored in %s, mode 0600; `sluice admin token` prints it again):\n  %s\n\n",
			filepath.Join(o.c.dataDir, api.TokenFile), token)
	}
	return in, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// run serves until SIGTERM or SIGINT, reloading the file on change or
// SIGHUP, then shuts down within the shutdown timeout.
func (in *instance) run(c common, watch time.Duration) error {
	defer in.close()
	return runUntilSignal(in.srv, in.log, c.shutdown, func(ctx context.Context, reload <-chan struct{}) {
		in.plane.Watch(ctx, watch, reload)
	})
}

func (in *instance) close() {
	if in.metrics != nil {
		in.metrics.Close()
	}
	if in.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		in.admin.Shutdown(ctx)
		cancel()
	}
	if in.srv != nil {
		in.srv.Shutdown(context.Background())
	}
	if in.store != nil {
		if err := in.store.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			in.log.Error("closing the store", "err", err)
		}
	}
}
