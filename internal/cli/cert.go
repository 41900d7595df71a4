package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicelb/sluice/internal/certs"
)

const certUsage = `Usage:
  sluice cert check [-o json] FILES...   check PEM certificate, chain and key files as an import would
  sluice cert check [-o json] DIR        check a certbot live/NAME folder
` + certAPIUsage + `
Subcommands: check, import, list, describe, renew, delete
`

// certCommand runs "sluice cert SUBCOMMAND".
func certCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"cert: missing subcommand\n\n" + certUsage}
	}
	switch args[0] {
	case "check":
		return certCheck(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, certUsage)
		return nil
	default:
		if cmd, ok := certAPICommands[args[0]]; ok {
			return cmd(args[1:], stdout, stderr)
		}
		return usageError{fmt.Sprintf("cert: unknown subcommand %q\n\n%s", args[0], certUsage)}
	}
}

// certCheck runs "sluice cert check": files are told apart by content (the
// one with a PRIVATE KEY block is the key; certificate files are
// concatenated in the order given), or one certbot folder is read.
func certCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cert check", stderr)
	output := fs.String("o", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), certUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	names, err := parseWithArgs(fs, args)
	if err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return usageError{fmt.Sprintf("cert check: -o %q: use text or json", *output)}
	}
	if len(names) == 0 {
		return usageError{"cert check: name the certificate and key files, or a certbot live/NAME folder\n\n" + certUsage}
	}
	now := time.Now()
	b, problems, err := checkNamed(names, now)
	if err != nil {
		return err
	}
	rep := newCheckReport(b, problems, now)
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout)
	}
	if errs, warns := count(problems); errs > 0 {
		return fmt.Errorf("cert check: %s, %s", plural(errs, "error"), plural(warns, "warning"))
	}
	return nil
}

// parseWithArgs parses flags that may come before, between or after the
// positional arguments, and returns those.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{fs.Name() + ": " + err.Error()}
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if n := len(args) - len(left); n > 0 && args[n-1] == "--" {
			return append(rest, left...), nil
		}
		rest, args = append(rest, left[0]), left[1:]
	}
}

// checkNamed checks the bundle in names: one certbot folder, or files told
// apart by content.
func checkNamed(names []string, now time.Time) (certs.Bundle, []certs.Problem, error) {
	if len(names) == 1 {
		if fi, err := os.Stat(names[0]); err == nil && fi.IsDir() {
			certFile, chainFile, keyFile, err := certbotFiles(names[0])
			if err != nil {
				return certs.Bundle{}, nil, err
			}
			b, problems := certs.CheckFiles(certFile, keyFile, chainFile, now)
			return b, problems, nil
		}
	}
	b, problems, err := sortFiles(names)
	if err != nil {
		return b, nil, err
	}
	return b, append(problems, certs.Check(b, now)...), nil
}

// certbotFiles finds certbot's live/NAME layout: privkey.pem with
// fullchain.pem, or with cert.pem and chain.pem.
func certbotFiles(dir string) (certFile, chainFile, keyFile string, err error) {
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	keyFile = filepath.Join(dir, "privkey.pem")
	switch {
	case exists("fullchain.pem"):
		return filepath.Join(dir, "fullchain.pem"), "", keyFile, nil
	case exists("cert.pem") && exists("chain.pem"):
		return filepath.Join(dir, "cert.pem"), filepath.Join(dir, "chain.pem"), keyFile, nil
	case exists("cert.pem"):
		return filepath.Join(dir, "cert.pem"), "", keyFile, nil
	}
	return "", "", "", fmt.Errorf("cert check: %s holds neither fullchain.pem nor cert.pem, as a certbot live/NAME folder does; name the files instead", dir)
}

// sortFiles reads files and makes a Bundle of them: the file with a PRIVATE
// KEY block is the key; the first other file is the certificate, and the
// rest, joined in the order given, the chain.
func sortFiles(names []string) (certs.Bundle, []certs.Problem, error) {
	var b certs.Bundle
	var problems []certs.Problem
	var chainFiles []string
	for _, name := range names {
		if fi, err := os.Stat(name); err == nil && fi.IsDir() {
			return b, nil, usageError{fmt.Sprintf("cert check: %s is a folder; name either files or one certbot live/NAME folder", name)}
		}
		data, err := certs.ReadFile(name)
		if err != nil {
			var p certs.Problem
			errors.As(err, &p)
			problems = append(problems, p)
			continue
		}
		switch {
		case bytes.Contains(data, []byte("PRIVATE KEY-----")) && b.KeyFile == "":
			b.KeyFile, b.Key = name, data
		case bytes.Contains(data, []byte("PRIVATE KEY-----")):
			problems = append(problems, certs.Problem{File: name,
				Msg: fmt.Sprintf("holds a private key too, besides %s; name only the key that belongs to the certificate", b.KeyFile)})
		case b.CertFile == "":
			b.CertFile, b.Cert = name, data
		default:
			chainFiles = append(chainFiles, name)
			b.Chain = append(append(b.Chain, data...), '\n')
		}
	}
	b.ChainFile = strings.Join(chainFiles, " + ")
	return b, problems, nil
}

func count(problems []certs.Problem) (errs, warns int) {
	for _, p := range problems {
		if p.Warning {
			warns++
		} else {
			errs++
		}
	}
	return errs, warns
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// checkReport is the outcome of "cert check", also its JSON form.
type checkReport struct {
	OK          bool            `json:"ok"`
	Problems    []checkProblem  `json:"problems"`
	Certificate *checkedSummary `json:"certificate,omitempty"` // only when OK
}

type checkProblem struct {
	File    string `json:"file"`
	Message string `json:"message"`
	Warning bool   `json:"warning"`
}

// checkedSummary describes a good bundle's server certificate.
type checkedSummary struct {
	Subject     string    `json:"subject"`
	DNSNames    []string  `json:"dns_names"`
	IPAddresses []string  `json:"ip_addresses,omitempty"`
	Issuer      string    `json:"issuer"`
	KeyType     string    `json:"key_type"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left"`
	ChainLength int       `json:"chain_length"` // certificates, the server certificate included
}

func newCheckReport(b certs.Bundle, problems []certs.Problem, now time.Time) *checkReport {
	rep := &checkReport{Problems: []checkProblem{}}
	errs, _ := count(problems)
	rep.OK = errs == 0
	for _, p := range problems {
		rep.Problems = append(rep.Problems, checkProblem{File: p.File, Message: p.Msg, Warning: p.Warning})
	}
	if rep.OK {
		rep.Certificate = summarize(b, now)
	}
	return rep
}

// summarize describes the bundle's first certificate; Check has passed, so
// it is the server certificate.
func summarize(b certs.Bundle, now time.Time) *checkedSummary {
	var chain []*x509.Certificate
	for _, data := range [][]byte{b.Cert, b.Chain} {
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			if block.Type != "CERTIFICATE" {
				continue
			}
			if c, err := x509.ParseCertificate(block.Bytes); err == nil {
				chain = append(chain, c)
			}
		}
	}
	if len(chain) == 0 {
		return nil
	}
	leaf := chain[0]
	s := &checkedSummary{
		Subject:     leaf.Subject.String(),
		DNSNames:    append([]string{}, leaf.DNSNames...),
		Issuer:      leaf.Issuer.String(),
		KeyType:     certs.KeyType(leaf.PublicKey),
		NotAfter:    leaf.NotAfter.UTC(),
		DaysLeft:    int(leaf.NotAfter.Sub(now) / (24 * time.Hour)),
		ChainLength: len(chain),
	}
	for _, ip := range leaf.IPAddresses {
		s.IPAddresses = append(s.IPAddresses, ip.String())
	}
	return s
}

func (r *checkReport) print(w io.Writer) {
	if c := r.Certificate; c != nil {
		fmt.Fprintf(w, "ok: %s\n", c.Subject)
		fmt.Fprintf(w, "  dns names:  %s\n", orNone(c.DNSNames))
		if len(c.IPAddresses) > 0 {
			fmt.Fprintf(w, "  ip:         %s\n", strings.Join(c.IPAddresses, ", "))
		}
		fmt.Fprintf(w, "  issuer:     %s\n", c.Issuer)
		fmt.Fprintf(w, "  key:        %s\n", c.KeyType)
		fmt.Fprintf(w, "  not after:  %s (%s left)\n", c.NotAfter.Format("2006-01-02 15:04 UTC"), plural(c.DaysLeft, "day"))
		fmt.Fprintf(w, "  chain:      %s, server certificate first\n", plural(c.ChainLength, "certificate"))
	}
	for _, p := range r.Problems {
		kind := "error"
		if p.Warning {
			kind = "warning"
		}
		if p.File == "" {
			fmt.Fprintf(w, "%s: %s\n", kind, p.Message)
		} else {
			fmt.Fprintf(w, "%s: %s: %s\n", kind, p.File, p.Message)
		}
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}
