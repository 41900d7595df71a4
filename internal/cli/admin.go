package cli

import (
	"fmt"
	"io"

	"github.com/sluicelb/sluice/internal/api"
)

const adminUsage = `Usage:
  sluice admin token [--data-dir DIR]   print the admin API token

The token is created when sluice serve first starts with a data dir and is
stored there (admin.token, mode 0600); run this as the user that runs serve.
`

// adminCommand runs "sluice admin SUBCOMMAND".
func adminCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, adminUsage)
		if len(args) == 0 {
			return usageError{"admin: missing subcommand"}
		}
		return nil
	}
	if args[0] != "token" {
		return usageError{fmt.Sprintf("admin: unknown subcommand %q\n\n%s", args[0], adminUsage)}
	}
	fs := newFlagSet("admin token", stderr)
	dataDir := fs.String("data-dir", DefaultDataDir(), "the data dir sluice serve runs with")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	token, err := api.ReadToken(*dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
