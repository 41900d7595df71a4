package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sluicelb/sluice/internal/certmgr"
)

const caUsage = `Usage:
  sluice ca export [--data-dir DIR]   print the local CA's root certificate (PEM) on stdout
`

// caCommand runs "sluice ca SUBCOMMAND".
func caCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, caUsage)
			return nil
		}
		return usageError{"ca: say what to do\n\n" + caUsage}
	}
	fs := newFlagSet("ca export", stderr)
	dataDir := fs.String("data-dir", DefaultDataDir(), "the data dir of the sluice whose CA to export")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := certmgr.RootPEM(ctx, certmgr.FileStorage(*dataDir))
	if err != nil {
		return fmt.Errorf("local CA in %s: %w", *dataDir, err)
	}
	if _, err := stdout.Write(root); err != nil {
		return err
	}
	fmt.Fprintf(stderr, `sluice ca export: this is the root of the local CA in %s.
Certificates with "source: internal" are signed by it. To trust it:
  curl:           curl --cacert sluice-root.pem https://localhost:8443/
  Debian/Ubuntu:  sudo cp sluice-root.pem /usr/local/share/ca-certificates/sluice-root.crt && sudo update-ca-certificates
  Fedora/RHEL:    sudo cp sluice-root.pem /etc/pki/ca-trust/source/anchors/ && sudo update-ca-trust
  macOS:          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain sluice-root.pem
  Firefox/Chrome on Linux use their own store: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n sluice -i sluice-root.pem
(save it first: sluice ca export > sluice-root.pem). Trust it only on machines you develop on:
whoever holds the data dir can issue certificates those machines accept.
`, *dataDir)
	return nil
}
