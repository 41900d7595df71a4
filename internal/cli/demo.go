package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluicelb/sluice/internal/certmgr"
	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/controlplane"
	"github.com/sluicelb/sluice/internal/demo"
	"github.com/sluicelb/sluice/internal/store"
)

const demoConfig = `# The configuration "sluice demo" runs. Edit it while the demo runs:
# sluice reloads it on save, without dropping connections.
version: 1
load_balancers:
  - name: demo
    listeners:
      - protocol: HTTP
        port: %[1]d
        address: %[3]s
        default_actions:
          - type: redirect
            redirect: { protocol: HTTPS, port: "%[2]d", status_code: HTTP_301 }
      - protocol: HTTPS
        port: %[2]d
        address: %[3]s
        certificates: [localhost]
        default_actions:
          - type: forward
            target_group: demo
target_groups:
  - name: demo
    protocol: HTTP
    port: %[4]d
    # The demo backends are registered through the admin API at start, so
    # that "sluice deregister-targets" can take them out and put them back.
    health_check: { path: /health, interval: 5s, timeout: 2s, healthy_threshold: 2, unhealthy_threshold: 2 }
    attributes:
      load_balancing_algorithm: round_robin
      deregistration_delay: 10s
certificates:
  # Issued and renewed by sluice's local CA; "sluice ca export" prints its
  # root so that browsers and curl can trust it.
  - name: localhost
    source: internal
    domains: [localhost, 127.0.0.1, "::1"]
`

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	httpPort := fs.Int("http-port", 8080, "port of the HTTP listener (redirects to HTTPS)")
	httpsPort := fs.Int("https-port", 8443, "port of the HTTPS listener")
	addr := fs.String("address", "127.0.0.1", "address the listeners bind")
	adminAddr := fs.String("admin-addr", DefaultAdminAddr, `admin API address ("off" to disable)`)
	var c common
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	var backends []*demo.Backend
	for i := 1; i <= 2; i++ {
		b, err := demo.Start(fmt.Sprintf("backend-%d", i), "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer b.Close()
		backends = append(backends, b)
	}
	dir := filepath.Join(c.dataDir, "demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	file := filepath.Join(dir, "sluice.yaml")
	cfg := fmt.Sprintf(demoConfig, *httpPort, *httpsPort, *addr, port(backends[0].Addr), port(backends[1].Addr))
	// Apply the config under a temporary name and put it in place only once
	// it serves: a demo already running on this data dir watches
	// sluice.yaml, and must not be pointed at this one's backends if this
	// one fails (say, because the ports are taken).
	tmp := filepath.Join(dir, fmt.Sprintf(".sluice-%d.yaml", os.Getpid()))
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		return err
	}
	defer os.Remove(tmp)
	in, err := start(instanceOptions{c: c, file: tmp, adminAddr: *adminAddr, store: store.NewMemory(), stderr: stderr})
	if err != nil {
		return err
	}
	ctx := context.Background()
	_, err = in.plane.Update(ctx, nil, func(s *controlplane.State, _ *config.Config) error {
		for _, b := range backends {
			s.Targets["demo"] = append(s.Targets["demo"], config.Target{ID: "127.0.0.1", Port: port(b.Addr)})
		}
		return nil
	})
	if err != nil {
		in.close()
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		in.close()
		return err
	}
	in.plane.FileMoved(file)
	root, err := certmgr.RootPEM(context.Background(), certmgr.FileStorage(c.dataDir))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "root.pem"), root, 0o644)
	}
	if err != nil {
		in.close()
		return fmt.Errorf("local CA: %w", err)
	}
	fmt.Fprintf(stdout, `sluice demo is running.

  Open   https://localhost:%[2]d/        (the page says which backend answered; reload to see round robin)
         https://localhost:%[2]d/chat    (a WebSocket chat through wss://)
         http://localhost:%[1]d/         (redirects to HTTPS)
  curl   curl --cacert %[6]s https://localhost:%[2]d/

  Backends:  backend-1 on %[3]s, backend-2 on %[4]s
             make one fail its health check:  curl -X POST http://%[3]s/health/fail
             and pass again:                  curl -X POST http://%[3]s/health/ok
  Config:    %[5]s  (edit it; sluice reloads on save)
%[7]s
The certificate comes from sluice's local CA, whose root is %[6]s.
Browsers warn until you trust that root: "sluice ca export" says how.
Press Ctrl-C to stop.
`, *httpPort, *httpsPort, backends[0].Addr, backends[1].Addr, file, filepath.Join(dir, "root.pem"), demoAdminHints(*adminAddr, c.dataDir, port(backends[0].Addr)))
	return in.run(c, time.Second)
}

func port(hostport string) int {
	_, p, _ := net.SplitHostPort(hostport)
	n, _ := strconv.Atoi(p)
	return n
}

// demoAdminHints are the admin commands the demo suggests, with the flags
// that reach this demo when it does not run on the defaults.
func demoAdminHints(adminAddr, dataDir string, backendPort int) string {
	if adminAddr == "" || adminAddr == "off" {
		return ""
	}
	flags := ""
	if adminAddr != DefaultAdminAddr {
		flags += " --endpoint http://" + adminAddr
	}
	if dataDir != DefaultDataDir() {
		flags += " --data-dir " + dataDir
	}
	return fmt.Sprintf(`  Admin:     sluice describe-target-health --target-group demo%[1]s
             sluice deregister-targets --target-group demo --targets Id=127.0.0.1,Port=%[2]d --wait%[1]s
             sluice register-targets --target-group demo --targets Id=127.0.0.1,Port=%[2]d%[1]s
             sluice status%[1]s
             (from the source tree: go run ./cmd/sluice ... instead of sluice ...)
`, flags, backendPort)
}
