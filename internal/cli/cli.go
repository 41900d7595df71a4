// Package cli implements the sluice command line: serve, validate, demo and
// version.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sluicelb/sluice/internal/certmgr"
	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/server"
	"github.com/sluicelb/sluice/internal/snapshot"
	"github.com/sluicelb/sluice/internal/store"
)

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = "dev"

const usage = `sluice — a self-hosted application load balancer with automatic HTTPS

Usage:
  sluice serve [-c FILE]    run the load balancers in FILE and those made through the admin API;
                            reload FILE on change or SIGHUP
  sluice validate -c FILE   check FILE as serve would, without serving
  sluice demo               an HTTPS load balancer in front of two demo backends
  sluice cert check FILES   check PEM certificate and key files as an import would
  sluice ca export          print the local CA's root certificate and how to trust it
  sluice admin token        print the admin API token
  sluice export [-f FILE]   write the whole running state as a config file
  sluice version            print the version

` + apiUsage + `

Run "sluice COMMAND -h" for a command's flags.
`

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "validate":
		err = validate(args[1:], stdout)
	case "demo":
		err = runDemo(args[1:], stdout, stderr)
	case "cert":
		err = certCommand(args[1:], stdout, stderr)
	case "ca":
		err = caCommand(args[1:], stdout, stderr)
	case "admin":
		err = adminCommand(args[1:], stdout, stderr)
	case "export":
		err = exportCommand(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "sluice", Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		cmd, ok := apiCommands[args[0]]
		if !ok {
			fmt.Fprintf(stderr, "sluice: unknown command %q\n\n%s", args[0], usage)
			return 2
		}
		err = cmd(args[1:], stdout, stderr)
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return ec.ExitCode()
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "sluice %s\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "sluice: %v\n", err)
	return 1
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// common holds the flags every long-running command shares.
type common struct {
	dataDir  string
	logLevel string
	engine   string
	shutdown time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", DefaultDataDir(), "folder for state that survives restarts")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&c.shutdown, "shutdown-timeout", 30*time.Second, "how long SIGTERM waits for requests in flight")
	fs.StringVar(&c.engine, "engine", "h1", "HTTP/1.1 engine: h1 (sluice's own) or nethttp (Go's net/http)")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: use debug, info, warn or error", c.logLevel)}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})), nil
}

// DefaultDataDir is /var/lib/sluice for root and a per-user state folder
// otherwise ($XDG_STATE_HOME/sluice, or ~/.local/state/sluice).
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/sluice"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sluice")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "sluice")
	}
	return filepath.Join(os.TempDir(), "sluice")
}

func newFlagSet(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

func validate(args []string, stdout io.Writer) error {
	fs := newFlagSet("validate", stdout)
	file := fs.String("c", "", "config file (required)")
	dataDir := fs.String("data-dir", DefaultDataDir(), "folder for state that survives restarts (read only here)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError{"validate: -c FILE is required"}
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	// Compile too (certificate files, patterns), as serve would, without
	// registering or issuing anything.
	cm, err := certmgr.New(certmgr.Options{DataDir: *dataDir, Logger: slog.New(slog.NewTextHandler(stdout, nil))})
	if err != nil {
		return err
	}
	defer cm.Close()
	set, err := cm.Prepare(cfg)
	if err == nil {
		_, err = snapshot.Prepare(cfg, snapshot.Env{Clock: clock.Real{}, Certificates: set})
	}
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return err
		}
		return fmt.Errorf("%s: %w", *file, err)
	}
	n := 0
	for _, lb := range cfg.LoadBalancers {
		n += len(lb.Listeners)
	}
	fmt.Fprintf(stdout, "%s: ok (%s, %s, %s)\n", *file, plural(len(cfg.LoadBalancers), "load balancer"),
		plural(n, "listener"), plural(len(cfg.TargetGroups), "target group"))
	return nil
}

func serve(args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	file := fs.String("c", "", "config file; optional: without one, everything is created through the admin API")
	adminAddr := fs.String("admin-addr", DefaultAdminAddr, `admin API address ("off" to disable)`)
	watch := fs.Duration("watch-interval", time.Second, "how often to check the config file for changes")
	metricsAddr := fs.String("metrics-addr", "", "also serve /metrics here, without a token (e.g. 127.0.0.1:9901); the admin API serves it with one")
	storeFlag := fs.String("store", "", `where API-made changes are kept: a bbolt file (default DATA-DIR/sluice.db) or "memory" (lost at exit)`)
	var c common
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	var st store.Store
	if *storeFlag == "memory" {
		st = store.NewMemory()
	}
	in, err := start(instanceOptions{c: c, file: *file, adminAddr: *adminAddr, store: st, storePath: *storeFlag, metricsAddr: *metricsAddr, stderr: stderr})
	if err != nil {
		return err
	}
	in.log.Info("sluice serving", "config", *file, "data_dir", c.dataDir, "version", Version)
	return in.run(c, *watch)
}

// runUntilSignal runs watch until SIGTERM or SIGINT, passing SIGHUP on as a
// reload, then shuts the server down within timeout.
func runUntilSignal(srv *server.Server, log *slog.Logger, timeout time.Duration, watch func(context.Context, <-chan struct{})) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-usr1:
				if err := srv.ReopenLogs(); err != nil {
					log.Error("SIGUSR1: reopening access logs failed", "err", err)
				} else {
					log.Info("SIGUSR1: access logs reopened")
				}
			case <-hup:
				log.Info("SIGHUP: reloading config")
				select {
				case reload <- struct{}{}:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if watch != nil {
		go watch(ctx, reload)
	}
	<-ctx.Done()
	log.Info("shutting down: no new connections; waiting for requests in flight", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}
