package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluicelb/sluice/internal/apiclient"
)

// certAPIUsage lists the "sluice cert" subcommands that talk to the admin
// API.
const certAPIUsage = `  sluice cert import --name NAME --certificate FILE --private-key FILE [--certificate-chain FILE]
  sluice cert list
  sluice cert describe NAME
  sluice cert renew NAME
  sluice cert delete NAME
`

// certName reads the certificate's name from --name or the one positional
// argument.
func certName(v *verbSet, flagName *string, positional []string) (string, error) {
	switch {
	case len(positional) > 1:
		return "", v.usageErr("give one certificate name")
	case len(positional) == 1 && *flagName != "" && positional[0] != *flagName:
		return "", v.usageErr("give the name once, as --name or as an argument")
	case len(positional) == 1:
		return positional[0], nil
	case *flagName != "":
		return *flagName, nil
	}
	return "", v.usageErr("name the certificate: --name NAME or NAME")
}

func certImport(args []string, stdout, stderr io.Writer) error {
	v := newVerb("cert import", "--name NAME --certificate FILE --private-key FILE [--certificate-chain FILE]",
		"Imports a PEM certificate and its key under NAME, or re-imports over the certificate named NAME,\n"+
			"which listeners then serve from the next handshake. Files may be written fileb://FILE, as for aws.", stderr)
	name := v.String("the certificate's `NAME`, which listeners refer to (required)", "name")
	certFile := v.String("PEM `FILE` with the certificate, optionally followed by its chain (required)", "certificate")
	keyFile := v.String("PEM `FILE` with the unencrypted private key (required)", "private-key")
	chainFile := v.String("PEM `FILE` with the intermediate certificates", "certificate-chain")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name", "certificate", "private-key"); err != nil {
		return err
	}
	body := map[string]any{"name": *name}
	files := []struct {
		key  string
		file string
	}{{"certificate", *certFile}, {"private_key", *keyFile}, {"certificate_chain", *chainFile}}
	for _, f := range files {
		if f.file == "" {
			continue
		}
		content, isFile, err := readFileArg(f.file)
		if !isFile {
			var b []byte
			b, err = os.ReadFile(f.file)
			content = string(b)
		}
		if err != nil {
			return fmt.Errorf("cert import: %w", err)
		}
		body[f.key] = content
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/certificates", body)
	var ae *apiclient.Error
	if errors.As(err, &ae) && ae.Status == 409 && ae.Code == "AlreadyExists" {
		raw, err = s.call("PUT", "/api/v1/certificates/"+pathEscape(*name), body)
	}
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(certificateColumns))
}

func certList(args []string, stdout, stderr io.Writer) error {
	v := newVerb("cert list", "", "Lists the certificates: imported, from files, from the local CA and from ACME.", stderr)
	if _, err := v.parse(args); err != nil {
		return err
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("GET", "/api/v1/certificates", nil)
	if err != nil {
		return err
	}
	return s.show(raw, listTable(certificateColumns, "certificates"))
}

func certDescribe(args []string, stdout, stderr io.Writer) error {
	v := newVerb("cert describe", "NAME", "Shows a certificate: source, status, names, issuer, validity, and the listeners using it.", stderr)
	v.positional = "NAME"
	flagName := v.String("the certificate's `NAME`", "name")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	name, err := certName(v, flagName, pos)
	if err != nil {
		return err
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("GET", "/api/v1/certificates/"+pathEscape(name), nil)
	if err != nil {
		return err
	}
	return s.show(raw, describe("name", "source", "managed_by", "status", "subject", "sans", "domains",
		"issuer", "serial", "not_before", "not_after", "key_algorithm", "in_use_by"))
}

func certRenew(args []string, stdout, stderr io.Writer) error {
	v := newVerb("cert renew", "NAME",
		"Renews an acme or internal certificate now, in the background. Certificates from files are\n"+
			"renewed by whatever writes the files (sluice serves a changed file within a second); an imported\n"+
			"certificate is renewed by importing a new one.", stderr)
	v.positional = "NAME"
	flagName := v.String("the certificate's `NAME`", "name")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	name, err := certName(v, flagName, pos)
	if err != nil {
		return err
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/certificates/"+pathEscape(name)+"/renew", nil)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer, obj map[string]any) error {
		status := str(obj, "status")
		if status == "" {
			status = "renewal started"
		}
		_, err := fmt.Fprintf(w, "%s: %s\n", name, status)
		return err
	})
}

func certDelete(args []string, stdout, stderr io.Writer) error {
	v := newVerb("cert delete", "NAME", "Deletes a certificate; refused (exit 4) while a listener names it.", stderr)
	v.positional = "NAME"
	flagName := v.String("the certificate's `NAME`", "name")
	pos, err := v.parse(args)
	if err != nil {
		return err
	}
	name, err := certName(v, flagName, pos)
	if err != nil {
		return err
	}
	return deleteResource(v, stdout, stderr, "/api/v1/certificates/"+pathEscape(name), "certificate "+name)
}
