package controlplane

import (
	"path/filepath"
	"slices"

	"github.com/sluicelb/sluice/internal/config"
)

// ExportFile is a file an export writes beside the config: an imported
// certificate's PEM data.
type ExportFile struct {
	// Path is relative to the exported config's folder.
	Path    string `json:"path"`
	Mode    uint32 `json:"mode"`
	Content string `json:"content"`
}

// Export writes the whole state — the file's resources and the API's — as
// one config file that sluice serve -c reads back into the same running
// configuration, as the user wrote it (defaults left out); load balancers
// without listeners are left out, as a config file cannot hold them. Imported
// certificates become certificates from files, returned to be written
// beside the config (keys 0600). Paths in the file are made absolute so the
// export may be saved anywhere.
func (p *Plane) Export() ([]byte, []ExportFile, error) {
	p.mu.Lock()
	s := p.state.clone()
	p.mu.Unlock()
	var c *config.Config
	if s.file != nil {
		c = s.file.Clone()
		abs := func(f *string) {
			if *f != "" {
				if r := s.file.Resolve(*f); filepath.IsAbs(r) {
					*f = r
				} else if a, err := filepath.Abs(r); err == nil {
					*f = a
				}
			}
		}
		for i := range c.Certificates {
			ct := &c.Certificates[i]
			abs(&ct.CertFile)
			abs(&ct.KeyFile)
			abs(&ct.ChainFile)
			abs(&ct.TrustedRoots)
			if ct.DNS != nil && filepath.Base(ct.DNS.Command) != ct.DNS.Command {
				abs(&ct.DNS.Command)
			}
		}
		for i := range c.LoadBalancers {
			for j := range c.LoadBalancers[i].Listeners {
				if m := c.LoadBalancers[i].Listeners[j].MutualAuthentication; m != nil {
					abs(&m.TrustStore)
					for k := range m.RevocationLists {
						abs(&m.RevocationLists[k])
					}
				}
			}
		}
	} else {
		c = &config.Config{Version: config.Version}
	}
	appendAPI(c, s)
	// A config file needs a listener in each load balancer; one created
	// through the API may have none yet. It serves nothing, so leaving it
	// out keeps the export loadable without changing what runs.
	c.LoadBalancers = slices.DeleteFunc(c.LoadBalancers, func(lb config.LoadBalancer) bool { return len(lb.Listeners) == 0 })
	var files []ExportFile
	for _, name := range sortedKeys(s.Certificates) {
		d := s.Certificates[name]
		cert := *deepCopy(&d.Certificate)
		if d.Imported() {
			cert.Source = config.SourceFile
			cert.CertFile = filepath.Join("certs", name+".crt")
			cert.KeyFile = filepath.Join("certs", name+".key")
			files = append(files,
				ExportFile{Path: cert.CertFile, Mode: 0o644, Content: d.CertificatePEM},
				ExportFile{Path: cert.KeyFile, Mode: 0o600, Content: d.PrivateKeyPEM})
			if d.ChainPEM != "" {
				cert.ChainFile = filepath.Join("certs", name+".chain.crt")
				files = append(files, ExportFile{Path: cert.ChainFile, Mode: 0o644, Content: d.ChainPEM})
			}
		}
		c.Certificates = append(c.Certificates, cert)
	}
	out, err := config.Marshal(c)
	return out, files, err
}
