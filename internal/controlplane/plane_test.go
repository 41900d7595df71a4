package controlplane_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/server"
	"github.com/sluicelb/sluice/internal/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newServer returns a server on a temp data dir, shut down at test end.
func newServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	dir := t.TempDir()
	srv, err := server.New(server.Options{DataDir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, dir
}

// newPlane starts a plane on st with a new server; file may be "".
func newPlane(t *testing.T, st store.Store, file string) (*controlplane.Plane, *server.Server, string) {
	t.Helper()
	srv, dir := newServer(t)
	p := controlplane.New(controlplane.Options{Store: st, Server: srv, DataDir: dir, File: file, Logger: quiet})
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return p, srv, dir
}

func memStore(t *testing.T) *store.Memory {
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	return st
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func accepts(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// addGroup is an Update callback creating target group name.
func addGroup(name string, port int) func(*controlplane.State, *config.Config) error {
	return func(s *controlplane.State, _ *config.Config) error {
		s.TargetGroups[name] = &config.TargetGroup{Name: name, Protocol: "HTTP", Port: port}
		return nil
	}
}

// addWeb is an Update callback creating load balancer web with an HTTP
// listener on port answering a fixed response.
func addWeb(port int) func(*controlplane.State, *config.Config) error {
	return func(s *controlplane.State, _ *config.Config) error {
		s.LoadBalancers["web"] = &config.LoadBalancer{Name: "web", Listeners: []config.Listener{{
			Protocol: "HTTP", Port: port, Address: "127.0.0.1",
			DefaultActions: []config.Action{{Type: "fixed-response", FixedResponse: &config.FixedResponseConfig{StatusCode: "200"}}},
		}}}
		return nil
	}
}

func groups(p *controlplane.Plane) string {
	cur, _ := p.Current()
	var names []string
	for _, tg := range cur.TargetGroups {
		names = append(names, tg.Name)
	}
	return strings.Join(names, ",")
}

func TestParseIDs(t *testing.T) {
	listeners := []struct {
		id   string
		lb   string
		port int
		ok   bool
	}{
		{"web:443", "web", 443, true},
		{"web:65535", "web", 65535, true},
		{"web", "", 0, false},
		{"web:", "", 0, false},
		{":443", "", 0, false},
		{"web:0", "", 0, false},
		{"web:65536", "", 0, false},
		{"web:http", "", 0, false},
		{"web:-1", "", 0, false},
	}
	for _, tc := range listeners {
		lb, port, ok := controlplane.ParseListenerID(tc.id)
		if ok != tc.ok || (ok && (lb != tc.lb || port != tc.port)) {
			t.Errorf("ParseListenerID(%q) = %q, %d, %v", tc.id, lb, port, ok)
		}
	}
	rules := []struct {
		id, listener, name string
		ok                 bool
	}{
		{"web:443:chat", "web:443", "chat", true},
		{"web:443:priority-5", "web:443", "priority-5", true},
		{"web:443", "", "", false},
		{"web:443:", "", "", false},
		{"web:x:chat", "", "", false},
		{"chat", "", "", false},
	}
	for _, tc := range rules {
		l, n, ok := controlplane.ParseRuleID(tc.id)
		if ok != tc.ok || (ok && (l != tc.listener || n != tc.name)) {
			t.Errorf("ParseRuleID(%q) = %q, %q, %v", tc.id, l, n, ok)
		}
	}
	r := &config.Rule{Priority: 7}
	if id := controlplane.RuleID("web", 80, r); id != "web:80:priority-7" {
		t.Errorf("RuleID of an unnamed rule = %q", id)
	}
}

// TestUpdateRefused checks that a change that fails validation or the
// apply step changes nothing: not the running config, not the store, not
// the sockets.
func TestUpdateRefused(t *testing.T) {
	st := memStore(t)
	p, _, _ := newPlane(t, st, "")
	if _, err := p.Update(context.Background(), nil, addGroup("app", 80)); err != nil {
		t.Fatal(err)
	}
	rev, _ := st.Revision(context.Background())
	before, _ := p.Current()

	// Invalid: the error names the field relative to the focus.
	_, err := p.Update(context.Background(), controlplane.TGPath("bad"), func(s *controlplane.State, _ *config.Config) error {
		s.TargetGroups["bad"] = &config.TargetGroup{Name: "bad", Protocol: "HTTP", Port: 80,
			HealthCheck: &config.HealthCheck{Interval: config.Duration(time.Second)}}
		return nil
	})
	var e *controlplane.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != controlplane.CodeValidation || len(e.Fields) == 0 || e.Fields[0].Field != "health_check.interval" {
		t.Fatalf("invalid change: %#v", err)
	}

	// Valid, but the port is held by another process.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = p.Update(context.Background(), nil, addWeb(ln.Addr().(*net.TCPAddr).Port))
	if !errors.As(err, &e) || e.Status != 409 || e.Code != controlplane.CodePortInUse {
		t.Fatalf("port in use: %v", err)
	}

	// The callback's own error is returned as is.
	sentinel := errors.New("no")
	if _, err := p.Update(context.Background(), nil, func(s *controlplane.State, _ *config.Config) error {
		delete(s.TargetGroups, "app")
		return sentinel
	}); err != sentinel {
		t.Fatalf("callback error: %v", err)
	}

	after, s := p.Current()
	if after != before || groups(p) != "app" || len(s.LoadBalancers) != 0 {
		t.Errorf("refused changes changed the running config: %s", groups(p))
	}
	if now, _ := st.Revision(context.Background()); now != rev {
		t.Errorf("refused changes were stored: revision %d, was %d", now, rev)
	}
}

// failingStore fails every transaction with err.
type failingStore struct {
	store.Store
	mu  sync.Mutex
	err error
}

func (f *failingStore) Txn(ctx context.Context, conds []store.Cond, ops []store.Op) (int64, error) {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return f.Store.Txn(ctx, conds, ops)
}

// TestStoreFailure checks that a change the store refuses is taken back
// from the server: the listener it opened closes again.
func TestStoreFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"conflict", store.ErrConflict, 409, controlplane.CodeConflict},
		{"broken", errors.New("disk on fire"), 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &failingStore{Store: memStore(t)}
			p, _, _ := newPlane(t, st, "")
			st.mu.Lock()
			st.err = tc.err
			st.mu.Unlock()
			port := freePort(t)
			_, err := p.Update(context.Background(), nil, addWeb(port))
			var e *controlplane.Error
			switch {
			case tc.status != 0 && (!errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code):
				t.Fatalf("got %v, want %d %s", err, tc.status, tc.code)
			case tc.status == 0 && (err == nil || !strings.Contains(err.Error(), "disk on fire")):
				t.Fatalf("got %v", err)
			}
			waitFor(t, "the listener to close again", func() bool { return !accepts(port) })
			if _, s := p.Current(); len(s.LoadBalancers) != 0 {
				t.Error("the refused change is in the state")
			}
			st.mu.Lock()
			st.err = nil
			st.mu.Unlock()
			if _, err := p.Update(context.Background(), nil, addWeb(port)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the listener to open", func() bool { return accepts(port) })
		})
	}
}

const fileWithGroup = `version: 1
target_groups:
  - name: app
    protocol: HTTP
    port: 80
`

// TestStartRefusesOverlap refuses a file declaring a resource the API
// created.
func TestStartRefusesOverlap(t *testing.T) {
	st := memStore(t)
	p, _, _ := newPlane(t, st, "")
	if _, err := p.Update(context.Background(), nil, addGroup("app", 80)); err != nil {
		t.Fatal(err)
	}
	file := writeFile(t, fileWithGroup)
	srv, dir := newServer(t)
	p2 := controlplane.New(controlplane.Options{Store: st, Server: srv, DataDir: dir, File: file, Logger: quiet})
	err := p2.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), `target group "app" is declared in `+file) {
		t.Fatalf("Start: %v", err)
	}
}

// TestLoadBalancerWithoutListeners accepts a load balancer created through
// the API before its listeners (as create-load-balancer does), but still
// requires listeners of the config file's load balancers.
func TestLoadBalancerWithoutListeners(t *testing.T) {
	st := memStore(t)
	p, _, _ := newPlane(t, st, "")
	if _, err := p.Update(context.Background(), controlplane.LBPath("web"), func(s *controlplane.State, _ *config.Config) error {
		s.LoadBalancers["web"] = &config.LoadBalancer{Name: "web"}
		return nil
	}); err != nil {
		t.Fatalf("API load balancer without listeners: %v", err)
	}
	// Other problems of such a load balancer are still reported.
	_, err := p.Update(context.Background(), controlplane.LBPath("web"), func(s *controlplane.State, _ *config.Config) error {
		s.LoadBalancers["web"].IdleTimeout = config.Duration(time.Hour * 24)
		return nil
	})
	var e *controlplane.Error
	if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "idle_timeout" {
		t.Errorf("bad idle timeout: %v", err)
	}

	file := writeFile(t, "version: 1\nload_balancers:\n  - name: filelb\n")
	srv, dir := newServer(t)
	p2 := controlplane.New(controlplane.Options{Store: memStore(t), Server: srv, DataDir: dir, File: file, Logger: quiet})
	if err := p2.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "listeners") {
		t.Errorf("file load balancer without listeners: %v", err)
	}
}

// TestReloadFile applies a changed file with the API state, and keeps the
// running config when the new file is bad or overlaps the API state.
func TestReloadFile(t *testing.T) {
	file := writeFile(t, fileWithGroup)
	p, _, _ := newPlane(t, memStore(t), file)
	if _, err := p.Update(context.Background(), nil, addGroup("api", 80)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text, want, err string
	}{
		{"adds a group", fileWithGroup + "  - {name: more, protocol: HTTP, port: 81}\n", "app,more,api", ""},
		{"bad file", fileWithGroup + "  - {name: more, protocol: FTP, port: 81}\n", "app,more,api", "FTP"},
		{"overlaps the API", fileWithGroup + "  - {name: api, protocol: HTTP, port: 81}\n", "app,more,api", `target group "api"`},
		{"removes a group", fileWithGroup, "app,api", ""},
	} {
		if err := os.WriteFile(file, []byte(tc.text), 0o600); err != nil {
			t.Fatal(err)
		}
		err := p.ReloadFile()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: ReloadFile: %v, want error containing %q", tc.name, err, tc.err)
		}
		if got := groups(p); got != tc.want {
			t.Errorf("%s: groups %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestSharedStore runs two planes on one store: each applies what the
// other stores, including a change stored while it was writing its own.
func TestSharedStore(t *testing.T) {
	st := memStore(t)
	a, _, _ := newPlane(t, st, "")
	b, _, _ := newPlane(t, st, "")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	// a stores a change b has not seen; b then stores its own.
	if _, err := a.Update(ctx, nil, addGroup("from-a", 80)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Update(ctx, nil, addGroup("from-b", 80)); err != nil {
		t.Fatal(err)
	}
	// Both follow the store from now on.
	wg.Go(func() { a.Watch(ctx, time.Second, nil) })
	wg.Go(func() { b.Watch(ctx, time.Second, nil) })
	waitFor(t, "b to apply a's group", func() bool { return groups(b) == "from-a,from-b" })
	waitFor(t, "a to apply b's group", func() bool { return groups(a) == "from-a,from-b" })

	if _, err := a.Update(ctx, nil, addGroup("later", 80)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to apply a's later group", func() bool { return groups(b) == "from-a,from-b,later" })
	// Both creating the same name: the second is refused as a conflict
	// or, once it has seen the first, as a validation problem.
	if _, err := b.Update(ctx, nil, func(s *controlplane.State, _ *config.Config) error {
		delete(s.TargetGroups, "later")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to apply b's deletion", func() bool { return groups(a) == "from-a,from-b" })
}
