package api

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sluicelb/sluice/internal/certmgr"
	"github.com/sluicelb/sluice/internal/certs"
	"github.com/sluicelb/sluice/internal/config"
	cp "github.com/sluicelb/sluice/internal/controlplane"
)

func (h *handler) certRoutes() {
	m := h.mux
	m.HandleFunc("GET /api/v1/certificates", h.listCerts)
	m.HandleFunc("POST /api/v1/certificates", h.putCert)
	m.HandleFunc("GET /api/v1/certificates/{name}", h.getCert)
	m.HandleFunc("PUT /api/v1/certificates/{name}", h.putCert)
	m.HandleFunc("DELETE /api/v1/certificates/{name}", h.deleteCert)
	m.HandleFunc("POST /api/v1/certificates/{name}/renew", h.renewCert)
}

// certInput is an import (PEM fields) or a source as in the config file.
type certInput struct {
	ManagedBy        string `yaml:"managed_by"`
	CertificatePEM   string `yaml:"certificate"`
	PrivateKey       string `yaml:"private_key"`
	CertificateChain string `yaml:"certificate_chain"`
	// Spec is not embedded: the YAML decoder would name an embedded
	// config.Certificate "certificate", like the PEM field above, and
	// refuse every body.
	Spec config.Certificate `yaml:",inline"`
}

func findCert(cur *config.Config, name string) *config.Certificate {
	for i := range cur.Certificates {
		if cur.Certificates[i].Name == name {
			return &cur.Certificates[i]
		}
	}
	return nil
}

func (h *handler) certView(cur *config.Config, s *cp.State, c *config.Certificate) map[string]any {
	shown := *c
	m := map[string]any{}
	source := c.SourceOrDefault()
	if d := s.Certificates[c.Name]; d != nil && d.Imported() {
		source = "imported"
		shown = d.Certificate // not the files sluice keeps the import in
	}
	m = toMap(&shown)
	m["id"] = c.Name
	m["source"] = source
	m["managed_by"] = managedBy(s.FileCert(c.Name))
	users := []string{}
	for _, lb := range cur.LoadBalancers {
		for _, l := range lb.Listeners {
			for _, n := range l.Certificates {
				if n == c.Name {
					users = append(users, cp.ListenerID(lb.Name, l.Port))
				}
			}
		}
	}
	m["in_use_by"] = users
	tc := h.o.Runtime.Certificate(c.Name)
	if tc == nil || tc.Leaf == nil {
		m["status"] = "PENDING"
		return m
	}
	leaf := tc.Leaf
	m["status"] = "ISSUED"
	if time.Now().After(leaf.NotAfter) {
		m["status"] = "EXPIRED"
	}
	m["subject"] = leaf.Subject.String()
	m["sans"] = leaf.DNSNames
	m["issuer"] = leaf.Issuer.String()
	m["serial"] = leaf.SerialNumber.Text(16)
	m["not_before"] = leaf.NotBefore.UTC().Format(time.RFC3339)
	m["not_after"] = leaf.NotAfter.UTC().Format(time.RFC3339)
	m["key_algorithm"] = keyAlgorithm(leaf)
	return m
}

func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "EC_" + strings.ReplaceAll(k.Curve.Params().Name, "-", "_")
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA_%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "ED25519"
	}
	return c.PublicKeyAlgorithm.String()
}

func (h *handler) listCerts(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	out := []map[string]any{}
	for i := range cur.Certificates {
		out = append(out, h.certView(cur, s, &cur.Certificates[i]))
	}
	writeJSON(w, 200, map[string]any{"certificates": out})
}

func (h *handler) getCert(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	c := findCert(cur, r.PathValue("name"))
	if c == nil {
		writeError(w, cp.NotFound("certificate", r.PathValue("name")))
		return
	}
	writeResource(w, 200, h.certView(cur, s, c))
}

// putCert creates (POST) or replaces (PUT, a re-import) a certificate.
// Imports are checked as ACM checks them: the key matches, the chain is
// in order, the leaf is valid now.
func (h *handler) putCert(w http.ResponseWriter, r *http.Request) {
	var in certInput
	if err := readBody(r, &in); err != nil {
		writeError(w, err)
		return
	}
	name := in.Spec.Name
	if pv := r.PathValue("name"); pv != "" {
		if name != "" && name != pv {
			writeError(w, cp.Invalid("name", name, "differs from the name in the path; a certificate cannot be renamed"))
			return
		}
		name = pv
	}
	if name == "" {
		writeError(w, cp.Invalid("name", "", "missing; give the certificate a name to refer to it from listeners"))
		return
	}
	if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		// Imported certificates are kept in files named after them.
		writeError(w, cp.Invalid("name", name, "a certificate name may not contain / or \\ or start with '.'"))
		return
	}
	in.Spec.Name = name
	doc := &cp.CertDoc{Certificate: in.Spec}
	if in.CertificatePEM != "" || in.PrivateKey != "" {
		if err := checkImport(&in); err != nil {
			writeError(w, err)
			return
		}
		doc = &cp.CertDoc{Certificate: config.Certificate{Name: name}, CertificatePEM: in.CertificatePEM, PrivateKeyPEM: in.PrivateKey, ChainPEM: in.CertificateChain}
	}
	status := 201
	if r.Method == http.MethodPut {
		status = 200
	}
	h.update(w, r, status, cp.CertPath(name), func(s *cp.State, cur *config.Config) error {
		if s.FileCert(name) {
			return cp.FileManaged("certificate", name, s.FileName())
		}
		old := s.Certificates[name]
		switch {
		case r.Method == http.MethodPost && old != nil:
			return exists("certificate", name)
		case r.Method == http.MethodPut && old == nil:
			return cp.NotFound("certificate", name)
		case old != nil:
			if err := precondition(r, h.certView(cur, s, findCert(cur, name))); err != nil {
				return err
			}
		}
		s.Certificates[name] = doc
		return nil
	}, func(cur *config.Config, s *cp.State) map[string]any { return h.certView(cur, s, findCert(cur, name)) })
}

// checkImport checks an import's PEM data and refuses what ACM refuses.
func checkImport(in *certInput) error {
	switch {
	case in.CertificatePEM == "":
		return cp.Invalid("certificate", "", "missing; send the PEM certificate (leaf first)")
	case in.PrivateKey == "":
		return cp.Invalid("private_key", "", "missing; send the PEM private key, unencrypted")
	case in.Spec.Source != "" || in.Spec.CertFile != "" || in.Spec.KeyFile != "" || len(in.Spec.Domains) > 0:
		return cp.Invalid("source", in.Spec.Source, "an import takes only name, certificate, private_key and certificate_chain")
	}
	b := certs.Bundle{CertFile: "certificate", KeyFile: "private_key",
		Cert: []byte(in.CertificatePEM), Key: []byte(in.PrivateKey), Chain: []byte(in.CertificateChain)}
	if in.CertificateChain != "" {
		// A chain file name makes Check expect a chain.
		b.ChainFile = "certificate_chain"
	}
	problems := certs.Check(b, time.Now())
	e := &cp.Error{Status: 400, Code: cp.CodeValidation}
	for _, p := range problems {
		if p.Warning {
			continue
		}
		field := p.File
		if field == "" {
			field = "certificate"
		}
		e.Fields = append(e.Fields, cp.FieldError{Field: field, Message: p.Msg})
	}
	if len(e.Fields) == 0 {
		return nil
	}
	e.Message = "the certificate cannot be imported: " + e.Fields[0].Message
	return e
}

func (h *handler) deleteCert(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h.update(w, r, 204, nil, func(s *cp.State, cur *config.Config) error {
		if s.FileCert(name) {
			return cp.FileManaged("certificate", name, s.FileName())
		}
		if s.Certificates[name] == nil {
			return cp.NotFound("certificate", name)
		}
		view := h.certView(cur, s, findCert(cur, name))
		if err := precondition(r, view); err != nil {
			return err
		}
		if users, _ := view["in_use_by"].([]string); len(users) > 0 {
			return &cp.Error{Status: 409, Code: cp.CodeInUse, Message: fmt.Sprintf("certificate %q is used by listener %s; remove it from the listener first", name, strings.Join(users, ", "))}
		}
		delete(s.Certificates, name)
		return nil
	}, nil)
}

func (h *handler) renewCert(w http.ResponseWriter, r *http.Request) {
	cur, s := h.o.Plane.Current()
	name := r.PathValue("name")
	c := findCert(cur, name)
	if c == nil {
		writeError(w, cp.NotFound("certificate", name))
		return
	}
	if d := s.Certificates[name]; d != nil && d.Imported() {
		writeError(w, cp.Invalid("name", name, "an imported certificate is renewed by importing the new one under the same name (sluice cert import --name "+name+" ...)"))
		return
	}
	err := h.o.Runtime.RenewCertificate(name)
	if errors.Is(err, certmgr.ErrNotManaged) {
		writeError(w, cp.Invalid("name", name, "certificates from files are renewed by whatever writes the files (certbot, say); sluice serves a changed file within a second"))
		return
	}
	if err != nil {
		writeError(w, cp.Invalid("name", name, err.Error()))
		return
	}
	writeJSON(w, 202, map[string]string{"status": "renewal started; the new certificate is served once issued"})
}
