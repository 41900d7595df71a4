package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// adminCLI runs CLI verbs of the real binary against one admin API, with
// the token found in the data dir as a user's would be.
type adminCLI struct {
	t        *testing.T
	endpoint string
	dataDir  string
}

// sluiceProc is one running "sluice serve" of the real binary with its
// admin API on a free port of 127.0.0.1.
type sluiceProc struct {
	adminCLI
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error // the exit error, once done is closed
}

// startServe runs "sluice serve ARGS --data-dir dataDir --admin-addr
// 127.0.0.1:PORT" and waits until the admin API answers. The process is
// killed at test end if it still runs.
func startServe(t *testing.T, dataDir string, args ...string) *sluiceProc {
	t.Helper()
	bin := sluiceBinary(t)
	admin := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &sluiceProc{adminCLI: adminCLI{t: t, endpoint: "http://" + admin, dataDir: dataDir}, logs: &syncBuffer{}, done: make(chan struct{})}
	args = append(append([]string{"serve"}, args...), "--data-dir", dataDir, "--admin-addr", admin)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = cliEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("sluice serve %v output:\n%s", args, p.logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("sluice serve exited before its admin API answered: %v\n%s", p.err, p.logs.String())
		default:
		}
		resp, err := http.Get(p.endpoint + "/healthz")
		if err == nil {
			resp.Body.Close()
			if _, terr := os.Stat(filepath.Join(dataDir, "admin.token")); resp.StatusCode == 200 && terr == nil {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sluice serve's admin API did not answer at %s", p.endpoint)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *sluiceProc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			p.t.Fatalf("sluice serve exited with %v after SIGTERM", p.err)
		}
	case <-time.After(10 * time.Second):
		p.t.Fatal("sluice serve did not exit within 10s of SIGTERM")
	}
}

// cli runs a CLI verb: args, then --endpoint and --data-dir.
func (a adminCLI) cli(args ...string) cliResult {
	a.t.Helper()
	return runCLI(a.t, append(args, "--endpoint", a.endpoint, "--data-dir", a.dataDir)...)
}

// cliResult is what one run of the binary did.
type cliResult struct {
	args           []string
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r cliResult) String() string {
	return fmt.Sprintf("sluice %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runCLI runs the binary with args, bounded to 30 seconds.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBinary(t), args...)
	cmd.Env = cliEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := cliResult{args: args, code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running sluice %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustCLI runs a verb that must succeed.
func (a adminCLI) mustCLI(args ...string) cliResult {
	a.t.Helper()
	r := a.cli(args...)
	if r.code != 0 {
		a.t.Fatalf("%v", r)
	}
	return r
}

// cliEnv is the environment without the variables that would override the
// flags the tests give.
func cliEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLUICE_") {
			env = append(env, kv)
		}
	}
	return env
}

// targetHealth is one entry of describe-target-health -o json.
type targetHealth struct {
	Target struct {
		ID   string `json:"id"`
		Port int    `json:"port"`
	} `json:"target"`
	TargetHealth struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
	} `json:"target_health"`
}

// health runs describe-target-health -o json and returns the state of
// each target by port.
func (a adminCLI) health(group string) map[int]string {
	a.t.Helper()
	r := a.mustCLI("describe-target-health", "--target-group", group, "-o", "json")
	var out struct {
		Descriptions []targetHealth `json:"target_health_descriptions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		a.t.Fatalf("describe-target-health -o json is not JSON: %v\n%s", err, r.stdout)
	}
	states := map[int]string{}
	for _, d := range out.Descriptions {
		states[d.Target.Port] = d.TargetHealth.State
	}
	return states
}

// waitState polls describe-target-health until every port is in state.
func (a adminCLI) waitState(group, state string, ports ...int) {
	a.t.Helper()
	var last map[int]string
	deadline := time.Now().Add(10 * time.Second)
	for {
		last = a.health(group)
		ok := true
		for _, port := range ports {
			ok = ok && last[port] == state
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("describe-target-health: want ports %v %s, have %v", ports, state, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// appServer is one version of an application: a real HTTP server on a
// given port of 127.0.0.1 that names its version in the X-Backend header
// and the body. GET /slow answers after slowFor.
type appServer struct {
	name string
	port int
	srv  *http.Server
	hits atomic.Int64
	slow atomic.Int64 // /slow requests in flight
}

// slowFor is how long /slow takes: less than rollingCfg's deregistration
// delay, more than the second sluice waits before ending a drain early.
const slowFor = 1500 * time.Millisecond

// startApp serves version name on port (0: any free port).
func startApp(t *testing.T, name string, port int) *appServer {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	a := &appServer{name: name, port: ln.Addr().(*net.TCPAddr).Port}
	a.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			io.WriteString(w, "ok")
			return
		}
		a.hits.Add(1)
		w.Header().Set("X-Backend", name)
		if r.URL.Path == "/slow" {
			a.slow.Add(1)
			time.Sleep(slowFor)
			a.slow.Add(-1)
		}
		io.WriteString(w, name)
	})}
	go a.srv.Serve(ln)
	t.Cleanup(func() { a.srv.Close() })
	return a
}

// stop shuts the server down as a deploy would: no new connections,
// requests in flight finish.
func (a *appServer) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		t.Fatalf("stopping %s: %v", a.name, err)
	}
}

// loadLoop sends requests to url from several goroutines, half over
// keep-alive connections and half on a fresh connection each, until stop.
type loadLoop struct {
	url        string
	ok, failed atomic.Int64
	mu         sync.Mutex
	seen       map[string]int64 // answers by X-Backend
	errs       []string         // the first few failures
	stopOnce   sync.Once
	quit       chan struct{}
	wg         sync.WaitGroup
}

func startLoadLoop(url string, workers int) *loadLoop {
	l := &loadLoop{url: url, seen: map[string]int64{}, quit: make(chan struct{})}
	for i := range workers {
		c := client()
		fresh := i%2 == 1
		if fresh {
			c.Transport.(*http.Transport).DisableKeepAlives = true
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			// A bound of its own, should the test forget to stop it.
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				select {
				case <-l.quit:
					return
				default:
				}
				l.one(c)
				if fresh {
					// Bounds the sockets left in TIME_WAIT.
					time.Sleep(2 * time.Millisecond)
				}
			}
		}()
	}
	return l
}

func (l *loadLoop) one(c *http.Client) {
	resp, err := c.Get(l.url)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != 200 {
		l.failed.Add(1)
		l.mu.Lock()
		if len(l.errs) < 5 {
			if err != nil {
				l.errs = append(l.errs, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
			} else {
				l.errs = append(l.errs, fmt.Sprintf("%s: status %d from %q", time.Now().Format("15:04:05.000"), resp.StatusCode, resp.Header.Get("X-Backend")))
			}
		}
		l.mu.Unlock()
		return
	}
	l.ok.Add(1)
	l.mu.Lock()
	l.seen[resp.Header.Get("X-Backend")]++
	l.mu.Unlock()
}

func (l *loadLoop) count(name string) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[name]
}

func (l *loadLoop) stop() {
	l.stopOnce.Do(func() { close(l.quit) })
	l.wg.Wait()
}

const rollingCfg = `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        default_actions: [{ type: forward, target_group: app }]
target_groups:
  - name: app
    protocol: HTTP
    port: {{.B1}}
    health_check: { path: /health, interval: 5s, healthy_threshold: 2 }
    attributes:
      deregistration_delay: 2s
`

// TestCLIRollingDeploy deploys new versions of two backends one at a time
// with the CLI, as an operator would, under a continuous load loop:
// deregister-targets --wait drains a backend, it is stopped and replaced by
// a new version on the same port, register-targets puts it back. No request
// of the load loop fails, and in the end only the new versions answer.
func TestCLIRollingDeploy(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	a1, b1 := startApp(t, "a-v1", 0), startApp(t, "b-v1", 0)
	v := newVars(t, 1)
	v["B1"] = a1.port
	dir := t.TempDir()
	file := filepath.Join(dir, "sluice.yaml")
	writeFile(t, file, render(t, rollingCfg, v))
	p := startServe(t, filepath.Join(dir, "data"), "-c", file)

	p.mustCLI("register-targets", "--target-group", "app", "--targets",
		fmt.Sprintf("Id=127.0.0.1,Port=%d", a1.port), fmt.Sprintf("Id=127.0.0.1,Port=%d", b1.port))
	p.waitState("app", "healthy", a1.port, b1.port)

	base := fmt.Sprintf("http://127.0.0.1:%d", v["P1"])
	load := startLoadLoop(base+"/", 4)
	defer load.stop()
	waitFor(t, 5*time.Second, "both old versions answering the load loop", func() bool {
		return load.count("a-v1") > 0 && load.count("b-v1") > 0
	})

	next := map[*appServer]string{a1: "a-v2", b1: "b-v2"}
	var deployed []*appServer
	for _, old := range []*appServer{a1, b1} {
		// A slow request in flight at the old version when it is
		// deregistered: the drain lets it finish, so --wait lasts the
		// whole deregistration delay.
		slow := make(chan string, 20)
		sent := 0
		waitFor(t, 5*time.Second, "a slow request in flight at "+old.name, func() bool {
			if old.slow.Load() > 0 {
				return true
			}
			// The next one once the last has reached a backend.
			inFlight := a1.slow.Load() + b1.slow.Load()
			for _, d := range deployed {
				inFlight += d.slow.Load()
			}
			if sent < cap(slow) && inFlight >= int64(sent) {
				sent++
				go func() {
					resp, err := client().Get(base + "/slow")
					if err != nil {
						slow <- err.Error()
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					slow <- fmt.Sprintf("%d %s", resp.StatusCode, body)
				}()
			}
			return false
		})

		tgt := fmt.Sprintf("Id=127.0.0.1,Port=%d", old.port)
		r := p.cli("deregister-targets", "--target-group", "app", "--targets", tgt, "--wait")
		if r.code != 0 {
			t.Fatalf("%v", r)
		}
		t.Logf("deregister-targets --wait took %s; stderr:\n%s", r.took.Round(time.Millisecond), r.stderr)
		if want := fmt.Sprintf("draining 127.0.0.1:%d", old.port); !strings.Contains(r.stderr, want) {
			t.Errorf("deregister-targets --wait printed no %q progress line:\n%s", want, r.stderr)
		}
		if !strings.Contains(r.stderr, "drained after") {
			t.Errorf("deregister-targets --wait did not say it drained:\n%s", r.stderr)
		}
		// The drain ends at the 2s delay; --wait sees it at its next
		// poll, one second apart.
		if r.took < 2*time.Second-50*time.Millisecond || r.took > 4*time.Second {
			t.Errorf("deregister-targets --wait returned after %s; want the 2s deregistration delay plus at most a poll", r.took)
		}
		fromOld := 0
		for range sent {
			got := <-slow
			if !strings.HasPrefix(got, "200 ") {
				t.Errorf("a slow request in flight during the drain ended with %q", got)
			}
			if got == "200 "+old.name {
				fromOld++
			}
		}
		if fromOld == 0 {
			t.Errorf("no slow request was answered by %s", old.name)
		}
		if h := p.health("app"); h[old.port] != "" {
			t.Errorf("after --wait, describe-target-health still lists %s: %v", old.name, h)
		}

		// The deploy: the old version stops, the new one starts on the
		// same port.
		hits := old.hits.Load()
		old.stop(t)
		if got := old.hits.Load(); got != hits {
			t.Errorf("%s got %d requests while stopping after it drained", old.name, got-hits)
		}
		nv := startApp(t, next[old], old.port)
		deployed = append(deployed, nv)
		p.mustCLI("register-targets", "--target-group", "app", "--targets", tgt)
		p.waitState("app", "healthy", nv.port)
		waitFor(t, 5*time.Second, nv.name+" answering the load loop", func() bool { return load.count(nv.name) > 0 })
	}
	load.stop()

	t.Logf("load loop: %d requests succeeded, %d failed; answers by version %v", load.ok.Load(), load.failed.Load(), load.seen)
	if n := load.failed.Load(); n != 0 {
		t.Errorf("%d requests of the load loop failed during the deploy; first: %v", n, load.errs)
	}
	if load.ok.Load() < 200 {
		t.Errorf("only %d requests went through: the load loop did not run", load.ok.Load())
	}
	got := map[string]int{}
	c := client()
	for range 20 {
		resp, body := get(t, c, base+"/")
		if resp.StatusCode != 200 {
			t.Fatalf("after the deploy: status %d: %s", resp.StatusCode, body)
		}
		got[body]++
	}
	if len(got) != 2 || got["a-v2"] == 0 || got["b-v2"] == 0 {
		t.Errorf("after the deploy, answers by version %v; want a-v2 and b-v2 only", got)
	}
	if took := time.Since(begin); took > 30*time.Second {
		t.Errorf("the rolling deploy took %s, over its 30s budget", took.Round(time.Millisecond))
	}
}

// TestCLIBadCalls checks the CLI's exit codes and that its messages are
// plain words a user can act on, not the API's JSON.
func TestCLIBadCalls(t *testing.T) {
	t.Parallel()
	app := startApp(t, "app", 0)
	v := newVars(t, 1)
	v["B1"] = app.port
	dir := t.TempDir()
	file := filepath.Join(dir, "sluice.yaml")
	writeFile(t, file, render(t, rollingCfg, v))
	p := startServe(t, filepath.Join(dir, "data"), "-c", file)

	cases := []struct {
		name string
		args []string
		code int
		want []string // each must be in stderr
	}{
		{"unknown target group", []string{"describe-target-health", "--target-group", "nope"}, 3, []string{"nope"}},
		{"file-managed target group", []string{"delete-target-group", "--name", "app"}, 4, []string{"config file", file}},
		{"file-managed listener", []string{"delete-listener", "--listener", fmt.Sprintf("web:%d", v["P1"])}, 4, []string{"config file", file}},
		{"invalid health check interval", []string{"create-target-group", "--name", "api", "--protocol", "HTTP", "--port", "8080",
			"--health-check-interval-seconds", "1"}, 5, []string{"health_check.interval"}},
		{"wrong token", []string{"describe-target-groups", "--token", "not-the-token"}, 6, []string{"token"}},
		{"unreachable endpoint", []string{"describe-target-groups", "--endpoint", fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}, 7, []string{"127.0.0.1"}},
		{"missing flag", []string{"register-targets", "--target-group", "app"}, 2, []string{"--targets"}},
		{"unknown flag", []string{"describe-target-groups", "--bogus"}, 2, []string{"bogus"}},
		{"bad target", []string{"register-targets", "--target-group", "app", "--targets", "Id=127.0.0.1,Port=x"}, 2, []string{"--targets"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The flags of the case come last and win over cli's.
			args := append([]string{tc.args[0], "--endpoint", p.endpoint, "--data-dir", p.dataDir}, tc.args[1:]...)
			r := runCLI(t, args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%v", r.code, tc.code, r)
			}
			msg := strings.TrimSpace(r.stderr)
			if !strings.HasPrefix(msg, "sluice") && !strings.Contains(msg, "\nsluice ") {
				t.Errorf("stderr has no line \"sluice ...\" saying what went wrong:\n%s", msg)
			}
			if strings.Contains(msg, `{"`) || strings.Contains(msg, `"error"`) {
				t.Errorf("stderr is the API's JSON, not words:\n%s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, msg)
				}
			}
			if r.stdout != "" {
				t.Errorf("a failed call printed to stdout:\n%s", r.stdout)
			}
		})
	}

	// The refused calls changed nothing.
	if r := p.cli("describe-target-groups", "--names", "api"); r.code != 3 {
		t.Errorf("the refused create-target-group left a group api behind:\n%v", r)
	}

	// -o json of describe verbs is JSON a script can read.
	r := p.mustCLI("describe-target-groups", "-o", "json")
	var groups struct {
		TargetGroups []struct {
			Name      string `json:"name"`
			ManagedBy string `json:"managed_by"`
		} `json:"target_groups"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &groups); err != nil {
		t.Fatalf("describe-target-groups -o json is not JSON: %v\n%s", err, r.stdout)
	}
	if len(groups.TargetGroups) != 1 || groups.TargetGroups[0].Name != "app" || groups.TargetGroups[0].ManagedBy != "file" {
		t.Errorf("describe-target-groups -o json: %+v", groups)
	}
	r = p.mustCLI("describe-listeners", "--output", "json")
	var listeners map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &listeners); err != nil {
		t.Fatalf("describe-listeners --output json is not JSON: %v\n%s", err, r.stdout)
	}
	if r := p.cli("describe-target-groups", "-o", "yaml"); r.code != 2 {
		t.Errorf("-o yaml: exit %d, want 2\n%v", r.code, r)
	}
}

// writeSelfSigned writes a self-signed certificate for dnsName and its key
// as PEM files into dir, as openssl req -x509 would.
func writeSelfSigned(t *testing.T, dir, dnsName string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: dnsName},
		DNSNames:              []string{dnsName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, dnsName+".crt"), filepath.Join(dir, dnsName+".key")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile
}

// TestCLIPersistAndExport builds a load balancer with the CLI alone, on
// serve's default bbolt store: it survives a restart, and "sluice export"
// writes a config file that validates and serves the same answers.
func TestCLIPersistAndExport(t *testing.T) {
	t.Parallel()
	app := startApp(t, "app", 0)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	port := freePort(t)
	listener := fmt.Sprintf("web:%d", port)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p := startServe(t, data)

	p.mustCLI("create-target-group", "--name", "app", "--protocol", "HTTP", "--port", strconv.Itoa(app.port),
		"--health-check-path", "/health", "--health-check-interval-seconds", "5", "--healthy-threshold-count", "2")
	p.mustCLI("register-targets", "--target-group", "app", "--targets", fmt.Sprintf("Id=127.0.0.1,Port=%d", app.port))
	p.mustCLI("create-load-balancer", "--name", "web")
	p.mustCLI("create-listener", "--load-balancer", "web", "--protocol", "HTTP", "--port", strconv.Itoa(port),
		"--address", "127.0.0.1", "--default-actions", "Type=forward,TargetGroup=app")
	p.mustCLI("create-rule", "--listener", listener, "--priority", "10", "--name", "chat",
		"--conditions", "Field=path-pattern,Values=[/chat/*]", "--actions", "Type=fixed-response,StatusCode=200,MessageBody=chat")
	if _, err := os.Stat(filepath.Join(data, "sluice.db")); err != nil {
		t.Fatalf("serve keeps no bbolt store in its data dir: %v", err)
	}

	c := client()
	traffic := func(when string) {
		t.Helper()
		waitFor(t, 10*time.Second, when+": the listener forwarding to app", func() bool {
			resp, err := c.Get(base + "/")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200 && resp.Header.Get("X-Backend") == "app"
		})
		resp, body := get(t, c, base+"/chat/room")
		if resp.StatusCode != 200 || body != "chat" {
			t.Fatalf("%s: /chat/room answered %d %q, want the rule's 200 chat", when, resp.StatusCode, body)
		}
		resp, body = get(t, c, base+"/other")
		if resp.StatusCode != 200 || body != "app" {
			t.Fatalf("%s: /other answered %d %q, want app's answer", when, resp.StatusCode, body)
		}
	}
	traffic("after the CLI built it")

	// A restart on the same data dir keeps everything.
	p.stop()
	c.CloseIdleConnections()
	p = startServe(t, data)
	if r := p.mustCLI("describe-load-balancers", "--names", "web"); !strings.Contains(r.stdout, "web") {
		t.Errorf("after a restart, describe-load-balancers:\n%s", r.stdout)
	}
	r := p.mustCLI("describe-rules", "--listener", listener, "-o", "json")
	var rules struct {
		Rules []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rules); err != nil {
		t.Fatalf("describe-rules -o json: %v\n%s", err, r.stdout)
	}
	if !slices.ContainsFunc(rules.Rules, func(r struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}) bool {
		return r.Name == "chat"
	}) {
		t.Errorf("after a restart, the rule chat is gone: %s", r.stdout)
	}
	if h := p.health("app"); len(h) != 1 {
		t.Errorf("after a restart, app's targets: %v", h)
	}
	traffic("after a restart")

	// An imported certificate shows in cert list and cert describe.
	certFile, keyFile := writeSelfSigned(t, dir, "shop.example.test")
	p.mustCLI("cert", "import", "--name", "shop", "--certificate", certFile, "--private-key", keyFile)
	if r := p.mustCLI("cert", "list"); !strings.Contains(r.stdout, "shop") {
		t.Errorf("cert list does not show the imported certificate:\n%s", r.stdout)
	}
	r = p.mustCLI("cert", "describe", "shop")
	for _, w := range []string{"shop", "shop.example.test", "imported"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("cert describe shop does not show %q:\n%s", w, r.stdout)
		}
	}
	r = p.mustCLI("cert", "describe", "shop", "-o", "json")
	var cert map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &cert); err != nil || cert["name"] != "shop" {
		t.Errorf("cert describe -o json: %v\n%s", err, r.stdout)
	}

	if r := p.cli("delete-rule", "--rule", listener+":nope"); r.code != 3 || !strings.Contains(r.stderr, "nope") {
		t.Errorf("delete-rule of a rule that does not exist: %v", r)
	}

	// Export, validate, and serve the export on a fresh data dir.
	out := filepath.Join(dir, "export", "sluice.yaml")
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		t.Fatal(err)
	}
	p.mustCLI("export", "-f", out)
	if r := runCLI(t, "validate", "-c", out, "--data-dir", filepath.Join(dir, "validate")); r.code != 0 || !strings.Contains(r.stdout, "ok") {
		b, _ := os.ReadFile(out)
		t.Fatalf("the export does not validate:\n%v\nexport:\n%s", r, b)
	}
	p.stop()
	c.CloseIdleConnections()
	p = startServe(t, filepath.Join(dir, "fresh"), "-c", out, "--store", "memory")
	traffic("serving the export")
	if r := p.mustCLI("cert", "list"); !strings.Contains(r.stdout, "shop") {
		t.Errorf("serving the export: cert list does not show the certificate:\n%s", r.stdout)
	}
	if r := p.cli("delete-rule", "--rule", listener+":chat"); r.code != 4 {
		t.Errorf("serving the export, the rule should be file-managed; delete-rule: %v", r)
	}
}
