package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/acmetest"
	"github.com/sluicelb/sluice/internal/server"
)

// acmeEnv is a CA and a DNS server for one test, with the ports sluice
// must listen on for the CA's validation to reach it.
type acmeEnv struct {
	dns       *acmetest.DNS
	ca        *acmetest.Pebble
	v         vars
	rootsFile string
}

func newACMEEnv(t *testing.T, validity time.Duration) *acmeEnv {
	t.Helper()
	a := &acmeEnv{dns: acmetest.NewDNS(t, acmetest.DNSOptions{}), v: newVars(t, 2)}
	a.ca = acmetest.NewPebble(t, acmetest.PebbleOptions{
		HTTPPort: a.v["P1"].(int), TLSPort: a.v["P2"].(int), DNSResolver: a.dns.Addr(), CertValidity: validity,
	})
	a.rootsFile = filepath.Join(t.TempDir(), "pebble-tls.pem")
	writeFile(t, a.rootsFile, string(a.ca.TLSCertPEM()))
	a.v["Dir"], a.v["Roots"], a.v["DNS"] = a.ca.DirectoryURL(), a.rootsFile, a.dns.Addr()
	key := a.dns.Key()
	a.v["KeyName"], a.v["Secret"], a.v["Alg"] = key.Name, key.Secret, strings.TrimSuffix(key.Algorithm, ".")
	return a
}

// acmeConfig has an HTTP listener on P1 whose only rule would swallow the
// challenge path if challenges did not come first, and an HTTPS listener on
// P2 serving the certificate "site" described by certYAML.
const acmeConfig = `version: 1
load_balancers:
  - name: web
    listeners:
      - protocol: HTTP
        port: {{.P1}}
        address: 127.0.0.1
        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/.well-known/*"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "404" } }]
        default_actions:
          - type: fixed-response
            fixed_response: { status_code: "200", message_body: "plain http" }
      - protocol: HTTPS
        port: {{.P2}}
        address: 127.0.0.1
        certificates: [site]
        default_actions:
          - type: fixed-response
            fixed_response: { status_code: "200", message_body: "secure" }
certificates:
  - name: site
    source: acme
    directory: {{.Dir}}
    trusted_roots: {{.Roots}}
    email: ops@example.test
`

// servedCert does a handshake with SNI name and returns the leaf, verified
// against the CA's issuing roots; nil when the handshake fails.
func (a *acmeEnv) servedCert(t *testing.T, name string) (*x509.Certificate, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", a.v["P2"]), &tls.Config{
		ServerName: name, RootCAs: a.ca.IssuerRootPool(t), NextProtos: []string{"http/1.1"},
	})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// waitIssued waits until a handshake for name verifies against the CA.
func (a *acmeEnv) waitIssued(t *testing.T, e *env, name string) *x509.Certificate {
	t.Helper()
	var leaf *x509.Certificate
	var last error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if leaf, last = a.servedCert(t, name); last == nil {
			return leaf
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no certificate for %s from the ACME CA: %v\nsluice log:\n%s", name, last, e.logs.String())
	return nil
}

func fastRenewals(o *server.Options) { o.Certs.RenewCheckInterval = 300 * time.Millisecond }

func TestACMEHTTP01ThroughHTTPListener(t *testing.T) {
	t.Parallel()
	a := newACMEEnv(t, 0)
	e := start(t, render(t, acmeConfig+`    domains: [www.example.test]
    challenges: [http-01]
`, a.v))
	leaf := a.waitIssued(t, e, "www.example.test")
	if leaf.DNSNames[0] != "www.example.test" {
		t.Errorf("issued for %v", leaf.DNSNames)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA (key_type defaults to ec256)", leaf.PublicKeyAlgorithm)
	}
	// The rules still run for other requests on the HTTP listener.
	code, _ := rawRequest(t, fmt.Sprintf("127.0.0.1:%d", a.v["P1"]), "GET /.well-known/acme-challenge/unknown HTTP/1.1\r\nHost: www.example.test\r\nConnection: close\r\n\r\n")
	if code != 404 {
		t.Errorf("unknown challenge token: status %d, want the rule's 404", code)
	}
	if !strings.Contains(e.logs.String(), "certificate obtained") {
		t.Error("no \"certificate obtained\" log line")
	}
}

func TestACMETLSALPN01ThroughHTTPSListener(t *testing.T) {
	t.Parallel()
	a := newACMEEnv(t, 0)
	e := start(t, render(t, acmeConfig+`    domains: [alpn.example.test]
    challenges: [tls-alpn-01]
    key_type: rsa2048
`, a.v))
	leaf := a.waitIssued(t, e, "alpn.example.test")
	if leaf.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("key algorithm %v, want RSA (key_type rsa2048)", leaf.PublicKeyAlgorithm)
	}
}

func TestACMEDNS01WildcardThroughRFC2136(t *testing.T) {
	t.Parallel()
	a := newACMEEnv(t, 0)
	e := start(t, render(t, acmeConfig+`    domains: ["*.example.test"]
    dns:
      provider: rfc2136
      server: {{.DNS}}
      tsig_key_name: {{.KeyName}}
      tsig_secret: {{.Secret}}
      tsig_algorithm: {{.Alg}}
      resolvers: [{{.DNS}}]
      skip_propagation_check: true
`, a.v))
	leaf := a.waitIssued(t, e, "anything.example.test")
	if leaf.DNSNames[0] != "*.example.test" {
		t.Errorf("issued for %v, want the wildcard", leaf.DNSNames)
	}
	if a.dns.Updates() < 2 {
		t.Errorf("%d DNS updates, want the record published and cleaned up", a.dns.Updates())
	}
	if got := a.dns.TXT("_acme-challenge.example.test."); len(got) != 0 {
		t.Errorf("challenge record left behind: %v", got)
	}
}

// TestACMEDNS01ExecHook runs a user's hook script; the "DNS host" it talks
// to is this test, which publishes what the script asks for. sluice waits
// until its resolver sees the record before telling the CA.
func TestACMEDNS01ExecHook(t *testing.T) {
	t.Parallel()
	a := newACMEEnv(t, 0)
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.log")
	hook := filepath.Join(dir, "hook.sh")
	writeFile(t, hook, "#!/bin/sh\necho \"$1 $2 $3 $4 $SLUICE_ACME_RECORD_NAME\" >> "+calls+"\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go publishHookCalls(t, calls, a.dns, done)
	a.v["Hook"] = hook
	e := start(t, render(t, acmeConfig+`    domains: ["*.hook.test", hook.test]
    dns:
      provider: exec
      command: {{.Hook}}
      resolvers: [{{.DNS}}]
      propagation_timeout: 20s
`, a.v))
	a.waitIssued(t, e, "x.hook.test")
	a.waitIssued(t, e, "hook.test")
	waitFor(t, 10*time.Second, "cleanup calls", func() bool {
		b, _ := os.ReadFile(calls)
		return strings.Count(string(b), "cleanup hook.test ") == 2
	})
	b, _ := os.ReadFile(calls)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 || f[1] != "hook.test" || f[4] != "_acme-challenge.hook.test" || f[2] == "" || f[3] == "" {
			t.Errorf("hook called with %q, want VERB hook.test TOKEN VALUE and the record name", line)
		}
	}
}

// publishHookCalls follows the hook's log and applies each call to the DNS
// server, as a DNS host's API would.
func publishHookCalls(t *testing.T, file string, dns *acmetest.DNS, done <-chan struct{}) {
	seen := 0
	for {
		select {
		case <-done:
			return
		case <-time.After(50 * time.Millisecond):
		}
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			n++
			if n <= seen {
				continue
			}
			seen = n
			fl := strings.Fields(sc.Text())
			if len(fl) != 5 {
				continue
			}
			switch fl[0] {
			case "present":
				dns.SetTXT(fl[4]+".", fl[3])
			case "cleanup":
				dns.DeleteTXT(fl[4]+".", fl[3])
			}
		}
		f.Close()
	}
}

// TestACMERenewalAndOutage issues short-lived certificates: the first is
// renewed before it expires; then, with the CA unreachable, the last one
// keeps being served and the CA is not hammered.
func TestACMERenewalAndOutage(t *testing.T) {
	t.Parallel()
	a := newACMEEnv(t, 12*time.Second)
	e := startWith(t, render(t, acmeConfig+`    domains: [renew.example.test]
    challenges: [http-01]
`, a.v), fastRenewals)
	first := a.waitIssued(t, e, "renew.example.test")
	var renewed *x509.Certificate
	waitFor(t, 30*time.Second, "a renewed certificate", func() bool {
		leaf, err := a.servedCert(t, "renew.example.test")
		if err != nil {
			t.Errorf("handshake failed during renewal: %v", err)
			return false
		}
		if leaf.SerialNumber.Cmp(first.SerialNumber) != 0 {
			renewed = leaf
			return true
		}
		return false
	})
	if !strings.Contains(e.logs.String(), "renewal=true") {
		t.Error("no renewal in the log")
	}

	a.ca.SetDown(true)
	before := a.ca.RefusedConns()
	// The renewed certificate enters its renewal window and expires while
	// the CA is down; it is still what the listener serves.
	deadline := time.Now().Add(time.Until(renewed.NotAfter) + 2*time.Second)
	for time.Now().Before(deadline) {
		c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", a.v["P2"]), &tls.Config{ServerName: "renew.example.test", InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("handshake failed while the CA is down: %v", err)
		}
		got := c.ConnectionState().PeerCertificates[0].SerialNumber
		c.Close()
		if got.Cmp(renewed.SerialNumber) != 0 {
			t.Fatalf("served serial %x while the CA is down, want the last issued %x", got, renewed.SerialNumber)
		}
		time.Sleep(200 * time.Millisecond)
	}
	failures := strings.Count(e.logs.String(), "could not obtain certificate")
	if failures == 0 {
		t.Error("the failed renewal was not logged")
	}
	// Renewal checks run every 300ms; backoff allows one attempt a minute.
	if failures > 2 {
		t.Errorf("%d failed attempts logged in %s: renewal is not backing off", failures, 12*time.Second)
	}
	t.Logf("CA down: %d refused connections, %d failed attempts", a.ca.RefusedConns()-before, failures)
}

// TestACMETwoProcessesIssueOnce runs two sluice processes on one data dir
// asking for the same name: the storage lock makes one of them issue and
// the other load the result.
func TestACMETwoProcessesIssueOnce(t *testing.T) {
	t.Parallel()
	bin := sluiceBinary(t)
	a := newACMEEnv(t, 0)
	data := filepath.Join(t.TempDir(), "data")
	const extra = `    domains: [shared.example.test]
    challenges: [http-01]
`
	// The second process listens elsewhere; the CA reaches only the first.
	second := vars{}
	for k, v := range a.v {
		second[k] = v
	}
	second["P1"], second["P2"] = freePort(t), freePort(t)
	var procs []*exec.Cmd
	for i, v := range []vars{a.v, second} {
		file := filepath.Join(t.TempDir(), "sluice.yaml")
		writeFile(t, file, render(t, acmeConfig+extra, v))
		// Each has a store of its own: a bbolt file takes one process.
		cmd := exec.Command(bin, "serve", "-c", file, "--data-dir", data, "--log-level", "debug", "--admin-addr", "off", "--store", "memory")
		logf, err := os.Create(filepath.Join(t.TempDir(), "log"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		t.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("process %d log:\n%s", i, b)
			}
		})
	}
	serials := map[string]bool{}
	for _, p := range []int{a.v["P2"].(int), second["P2"].(int)} {
		var leaf *x509.Certificate
		waitFor(t, 40*time.Second, fmt.Sprintf("a certificate on port %d", p), func() bool {
			c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p), &tls.Config{ServerName: "shared.example.test", RootCAs: a.ca.IssuerRootPool(t)})
			if err != nil {
				return false
			}
			leaf = c.ConnectionState().PeerCertificates[0]
			c.Close()
			return true
		})
		serials[leaf.SerialNumber.String()] = true
	}
	if len(serials) != 1 {
		t.Errorf("the two processes serve %d different certificates, want one", len(serials))
	}
	if n := a.ca.NewOrders(); n != 1 {
		t.Errorf("%d orders reached the CA, want 1", n)
	}
}

// TestACMEOnDemand issues at the first handshake for an allowed name, and
// never asks the CA about other names.
func TestACMEOnDemand(t *testing.T) {
	t.Parallel()
	a := newACMEEnv(t, 0)
	e := start(t, render(t, acmeConfig+`    on_demand: { allowed_domains: ["*.od.test"] }
    challenges: [tls-alpn-01]
`, a.v))
	if _, err := a.servedCert(t, "shop.evil.test"); err == nil {
		t.Error("a name outside the allow-list got a certificate")
	}
	if n := a.ca.NewOrders(); n != 0 {
		t.Errorf("%d orders for a name outside the allow-list", n)
	}
	leaf, err := a.servedCert(t, "shop.od.test")
	if err != nil {
		t.Fatalf("first handshake for an allowed name: %v\n%s", err, e.logs.String())
	}
	if leaf.DNSNames[0] != "shop.od.test" {
		t.Errorf("issued for %v", leaf.DNSNames)
	}
	again, err := a.servedCert(t, "shop.od.test")
	if err != nil || again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("second handshake: %v, serial changed: %v", err, again != nil && again.SerialNumber.Cmp(leaf.SerialNumber) != 0)
	}
	if n := a.ca.NewOrders(); n != 1 {
		t.Errorf("%d orders, want 1", n)
	}
}
