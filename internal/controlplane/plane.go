// Package controlplane joins the two sources of configuration — the config
// file and the resources created through the admin API, kept in the store —
// into the one configuration the server runs. Every change, from either
// side, goes through the same steps: compose → defaults → validate →
// compile and swap (server.Apply) → persist. A change that fails any step
// changes nothing.
//
// Resources the file declares are file-managed: the API may read them but
// not change them. Targets are the exception that makes rolling deploys
// work: targets may be registered through the API in any group, including
// one the file declares; only the targets the file itself lists are
// file-managed.
package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/store"
)

// Applier runs a finished configuration; *server.Server is one.
type Applier interface {
	Apply(cfg *config.Config) error
}

// Options configures a Plane.
type Options struct {
	Store  store.Store
	Server Applier
	// DataDir holds imported certificates as files, 0600.
	DataDir string
	// File is the config file; empty when the API is the only source.
	File   string
	Logger *slog.Logger
	// Changed, if set, hears of every attempt to change the running
	// configuration: source is "start" (the first load), "file", "api" or
	// "store".
	Changed func(source string, ok bool)
}

// Plane owns the running configuration.
type Plane struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	state    *State
	rev      int64 // the store revision state reflects
	fileData []byte
	cur      *config.Config
}

// New returns a plane; call Start.
func New(o Options) *Plane {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Plane{o: o, log: o.Logger, state: newState()}
}

// Start reads the store and the config file and applies them. An error
// means nothing is served.
func (p *Plane) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, rev, err := loadState(ctx, p.o.Store)
	if err != nil {
		return err
	}
	var data []byte
	if p.o.File != "" {
		if data, err = os.ReadFile(p.o.File); err != nil {
			return fmt.Errorf("reading config: %w", err)
		}
		if st.file, err = config.DecodeRaw(p.o.File, data); err != nil {
			return err
		}
		st.fileName = absPath(p.o.File)
	}
	if err := checkOverlap(st); err != nil {
		return err
	}
	cfg, err := compose(st, p.o.DataDir)
	if err != nil {
		return err
	}
	if err := p.o.Server.Apply(cfg); err != nil {
		return err
	}
	p.state, p.rev, p.fileData, p.cur = st, rev, data, cfg
	removeStaleImports(p.o.DataDir, cfg)
	p.changed("start", nil)
	return nil
}

// Current returns the configuration being served, defaults filled in, and
// a copy of the API state. Callers must not modify cfg.
func (p *Plane) Current() (*config.Config, *State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur, p.state.clone()
}

// absPath is path made absolute where possible: messages that name the
// config file are read by API clients in other folders.
func absPath(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// changed reports an attempted change to Options.Changed.
func (p *Plane) changed(source string, err error) {
	if p.o.Changed != nil {
		p.o.Changed(source, err == nil)
	}
}

// FileMoved tells the plane its config file is now at path (same content).
func (p *Plane) FileMoved(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.o.File = path
	p.state.fileName = absPath(path)
}

// ReloadFile re-reads the config file and applies it with the API state.
// A bad file is refused with the error and the running configuration
// stays.
func (p *Plane) ReloadFile() (err error) {
	if p.o.File == "" {
		return nil
	}
	defer func() { p.changed("file", err) }()
	data, err := os.ReadFile(p.o.File)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fileData = data
	file, err := config.DecodeRaw(p.o.File, data)
	if err != nil {
		return err
	}
	st := p.state.clone()
	st.file = file
	if err := checkOverlap(st); err != nil {
		return err
	}
	cfg, err := compose(st, p.o.DataDir)
	if err != nil {
		return err
	}
	if err := p.o.Server.Apply(cfg); err != nil {
		return err
	}
	p.state, p.cur = st, cfg
	return nil
}

// Watch reloads the config file when its content changes (checked every
// interval) or when reload receives, and follows changes other processes
// make to the store. It returns when ctx ends.
func (p *Plane) Watch(ctx context.Context, interval time.Duration, reload <-chan struct{}) {
	if interval <= 0 {
		interval = time.Second
	}
	go p.followStore(ctx)
	if p.o.File == "" {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-reload:
			forced = true
		case <-t.C:
		}
		if !forced {
			cur, err := os.ReadFile(p.o.File)
			p.mu.Lock()
			same := err != nil || bytes.Equal(cur, p.fileData)
			p.mu.Unlock()
			if same {
				continue
			}
		}
		if err := p.ReloadFile(); err != nil {
			p.log.Error("config reload refused; keeping the running configuration", "file", p.o.File, "err", err)
			continue
		}
		p.log.Info("config reloaded", "file", p.o.File)
	}
}

// followStore applies changes written to the store by someone else (another
// node sharing it); this process's own writes are already applied.
func (p *Plane) followStore(ctx context.Context) {
	for ctx.Err() == nil {
		// Catch up first with what was stored since the state was read:
		// the watch starts from p.rev, and a watch from revision 0 starts
		// from the current one.
		p.resync(ctx)
		p.mu.Lock()
		from := p.rev
		p.mu.Unlock()
		for batch := range p.o.Store.Watch(ctx, "", from) {
			if len(batch) == 0 {
				continue
			}
			p.mu.Lock()
			newer := batch[0].KV.ModRevision > p.rev
			p.mu.Unlock()
			if newer {
				p.resync(ctx)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second): // the watch ended early: read everything again
		}
	}
}

func (p *Plane) resync(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, rev, err := loadState(ctx, p.o.Store)
	if err != nil || rev <= p.rev {
		return
	}
	st.file, st.fileName = p.state.file, p.state.fileName
	cfg, err := compose(st, p.o.DataDir)
	if err == nil {
		err = p.o.Server.Apply(cfg)
	}
	p.changed("store", err)
	if err != nil {
		p.log.Error("a change in the shared store cannot be applied; keeping the running configuration", "revision", rev, "err", err)
		p.rev = rev
		return
	}
	p.state, p.rev, p.cur = st, rev, cfg
	p.log.Info("applied a change from the shared store", "revision", rev)
}

// Update changes the API state: fn edits s, a copy of the state, checking
// its preconditions against cur, the configuration being served. The
// result is composed with the file, validated, applied and stored, in that
// order; if any step fails nothing changes and the error is returned
// (validation problems as an *Error with the fields). focus, when set,
// returns the path in the composed config of the resource the caller is
// changing: validation errors under it are reported relative to it.
func (p *Plane) Update(ctx context.Context, focus func(*config.Config) string, fn func(s *State, cur *config.Config) error) (*config.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.state.clone()
	if err := fn(s, p.cur); err != nil {
		return nil, err
	}
	cfg, err := compose(s, p.o.DataDir)
	if err != nil {
		p.changed("api", err)
		return nil, validationError(err, cfg, focus)
	}
	if err := p.o.Server.Apply(cfg); err != nil {
		p.changed("api", err)
		return nil, applyError(err, cfg, focus)
	}
	rev, err := p.persist(ctx, s)
	p.changed("api", err)
	if err != nil {
		// Put back what the store still says.
		if aerr := p.o.Server.Apply(p.cur); aerr != nil {
			p.log.Error("restoring the previous configuration failed", "err", aerr)
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, &Error{Status: 409, Code: CodeConflict, Message: "another change was stored at the same time; retry"}
		}
		return nil, fmt.Errorf("storing the change: %w", err)
	}
	p.state, p.cur = s, cfg
	if rev <= p.rev+1 {
		p.rev = rev
	}
	// Otherwise others stored revisions in between that the state does
	// not reflect; leaving p.rev behind has followStore read them.
	removeStaleImports(p.o.DataDir, cfg)
	return cfg, nil
}

// persist writes the documents of s that differ from the stored ones, on
// the condition that nobody changed them since they were read.
func (p *Plane) persist(ctx context.Context, s *State) (int64, error) {
	docs, err := s.docs()
	if err != nil {
		return 0, err
	}
	old, err := p.state.docs()
	if err != nil {
		return 0, err
	}
	var conds []store.Cond
	var ops []store.Op
	for k, v := range docs {
		if bytes.Equal(old[k], v) {
			continue
		}
		conds = append(conds, store.Cond{Key: k, ModRevision: s.revs[k]})
		ops = append(ops, store.Op{Key: k, Value: v})
	}
	for k := range old {
		if _, ok := docs[k]; !ok {
			conds = append(conds, store.Cond{Key: k, ModRevision: s.revs[k]})
			ops = append(ops, store.Op{Key: k, Delete: true})
		}
	}
	if len(ops) == 0 {
		return p.rev, nil
	}
	rev, err := p.o.Store.Txn(ctx, conds, ops)
	if err != nil {
		return 0, err
	}
	for _, op := range ops {
		if op.Delete {
			delete(s.revs, op.Key)
		} else {
			s.revs[op.Key] = rev
		}
	}
	return rev, nil
}

// checkOverlap refuses a file that declares a resource also created
// through the API: which one would win is not obvious, so the user picks.
func checkOverlap(s *State) error {
	if s.file == nil {
		return nil
	}
	var errs []error
	for _, lb := range s.file.LoadBalancers {
		if s.LoadBalancers[lb.Name] != nil {
			errs = append(errs, fmt.Errorf("load balancer %q is declared in %s and was also created through the admin API; delete one (sluice delete-load-balancer --name %s) or rename it", lb.Name, s.fileName, lb.Name))
		}
	}
	for _, tg := range s.file.TargetGroups {
		if s.TargetGroups[tg.Name] != nil {
			errs = append(errs, fmt.Errorf("target group %q is declared in %s and was also created through the admin API; delete one (sluice delete-target-group --name %s) or rename it", tg.Name, s.fileName, tg.Name))
		}
	}
	for _, c := range s.file.Certificates {
		if s.Certificates[c.Name] != nil {
			errs = append(errs, fmt.Errorf("certificate %q is declared in %s and was also created through the admin API; delete one (sluice cert delete --name %s) or rename it", c.Name, s.fileName, c.Name))
		}
	}
	return errors.Join(errs...)
}

// compose builds the configuration to run: the file's resources first, in
// file order, then the API's, sorted by name; targets registered through
// the API are added to their groups. The result has defaults filled in
// and is validated; on a validation error the unfinished config is
// returned with it, to name the resources the errors point at.
func compose(s *State, dataDir string) (*config.Config, error) {
	var c *config.Config
	if s.file != nil {
		c = s.file.Clone()
	} else {
		c = &config.Config{Version: config.Version}
	}
	appendAPI(c, s)
	for _, name := range sortedKeys(s.Certificates) {
		d := s.Certificates[name]
		cert := *deepCopy(&d.Certificate)
		if d.Imported() {
			files, err := materialize(dataDir, d)
			if err != nil {
				return c, err
			}
			cert.Source = config.SourceFile
			cert.CertFile, cert.KeyFile, cert.ChainFile = files[0], files[1], files[2]
		}
		c.Certificates = append(c.Certificates, cert)
	}
	nfile := 0
	if s.file != nil {
		nfile = len(s.file.LoadBalancers)
	}
	if err := allowNoListeners(c.Finish(), nfile); err != nil {
		return c, err
	}
	return c, nil
}

// allowNoListeners drops from err, the validation errors of a composed
// config, the complaint that a load balancer has no listeners for the
// ones the API created (those after the first nfile): as on ALB, a load
// balancer is created first and its listeners are added after, and its
// last listener may be deleted. The config file still needs a listener
// in each.
func allowNoListeners(err error, nfile int) error {
	var list config.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	var kept config.ErrorList
	for _, e := range list {
		rest, ok := strings.CutPrefix(e.Field, "load_balancers[")
		idx, tail, _ := strings.Cut(rest, "]")
		if i, err := strconv.Atoi(idx); ok && err == nil && i >= nfile && tail == ".listeners" {
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		return nil
	}
	return kept
}

// appendAPI adds the API's load balancers and target groups to c, sorted by
// name, and the targets registered through the API to their groups.
func appendAPI(c *config.Config, s *State) {
	for _, name := range sortedKeys(s.LoadBalancers) {
		c.LoadBalancers = append(c.LoadBalancers, *deepCopy(s.LoadBalancers[name]))
	}
	for _, name := range sortedKeys(s.TargetGroups) {
		tg := *deepCopy(s.TargetGroups[name])
		tg.Targets = nil
		c.TargetGroups = append(c.TargetGroups, tg)
	}
	for i := range c.TargetGroups {
		tg := &c.TargetGroups[i]
		for _, t := range s.Targets[tg.Name] {
			if !slices.ContainsFunc(tg.Targets, func(f config.Target) bool { return SameTarget(f, t, tg.Port) }) {
				tg.Targets = append(tg.Targets, t)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
