// Command sluice is a self-hosted application load balancer with automatic
// HTTPS. Run "sluice help" for its commands.
package main

import (
	"os"

	"github.com/sluicelb/sluice/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
