package controlplane

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/sluicelb/sluice/internal/config"
	"github.com/sluicelb/sluice/internal/store"
)

// Store key prefixes. Each resource created through the API is one key;
// listeners and rules live inside their load balancer's document, and the
// targets registered through the API in one document per target group
// (file-declared groups included).
const (
	prefixLB      = "load_balancers/"
	prefixTG      = "target_groups/"
	prefixTargets = "targets/"
	prefixCert    = "certificates/"
)

// CertDoc is a certificate created through the API: a source as in the
// config file, or an imported certificate with its PEM data.
type CertDoc struct {
	config.Certificate `yaml:",inline"`
	// CertificatePEM, PrivateKeyPEM and ChainPEM hold an imported
	// certificate; empty for the other sources.
	CertificatePEM string `yaml:"certificate_pem,omitempty"`
	PrivateKeyPEM  string `yaml:"private_key_pem,omitempty"`
	ChainPEM       string `yaml:"certificate_chain_pem,omitempty"`
}

// Imported reports whether d holds an imported certificate.
func (d *CertDoc) Imported() bool { return d.CertificatePEM != "" }

// State is the part of the configuration created through the API, as the
// user wrote it (no defaults filled in), plus what the config file
// declares, to tell the two apart. Update hands a copy to its callback,
// which changes it in place.
type State struct {
	LoadBalancers map[string]*config.LoadBalancer
	TargetGroups  map[string]*config.TargetGroup
	// Targets are the targets registered through the API, by group name.
	Targets      map[string][]config.Target
	Certificates map[string]*CertDoc

	// file is the config file as written; nil when there is none.
	file     *config.Config
	fileName string
	// revs are the store revisions the documents were read at, by key.
	revs map[string]int64
}

func newState() *State {
	return &State{
		LoadBalancers: map[string]*config.LoadBalancer{},
		TargetGroups:  map[string]*config.TargetGroup{},
		Targets:       map[string][]config.Target{},
		Certificates:  map[string]*CertDoc{},
		revs:          map[string]int64{},
	}
}

// FileName is the config file's name, or "" when there is none.
func (s *State) FileName() string { return s.fileName }

// FileLB returns the load balancer the config file declares under name.
func (s *State) FileLB(name string) *config.LoadBalancer {
	if s.file == nil {
		return nil
	}
	for i := range s.file.LoadBalancers {
		if s.file.LoadBalancers[i].Name == name {
			return &s.file.LoadBalancers[i]
		}
	}
	return nil
}

// FileTG returns the target group the config file declares under name.
func (s *State) FileTG(name string) *config.TargetGroup {
	if s.file == nil {
		return nil
	}
	for i := range s.file.TargetGroups {
		if s.file.TargetGroups[i].Name == name {
			return &s.file.TargetGroups[i]
		}
	}
	return nil
}

// FileCert reports whether the config file declares the certificate.
func (s *State) FileCert(name string) bool {
	if s.file == nil {
		return false
	}
	return slices.ContainsFunc(s.file.Certificates, func(c config.Certificate) bool { return c.Name == name })
}

// FileTarget reports whether the config file registers the target.
func (s *State) FileTarget(group string, t config.Target) bool {
	tg := s.FileTG(group)
	if tg == nil {
		return false
	}
	return slices.ContainsFunc(tg.Targets, func(f config.Target) bool { return SameTarget(f, t, tg.Port) })
}

// SameTarget reports whether a and b are the same registration in a group
// whose port is port.
func SameTarget(a, b config.Target, port int) bool {
	pa, pb := a.Port, b.Port
	if pa == 0 {
		pa = port
	}
	if pb == 0 {
		pb = port
	}
	return strings.EqualFold(a.ID, b.ID) && pa == pb
}

// clone returns a deep copy of s.
func (s *State) clone() *State {
	c := newState()
	for k, v := range s.LoadBalancers {
		c.LoadBalancers[k] = deepCopy(v)
	}
	for k, v := range s.TargetGroups {
		c.TargetGroups[k] = deepCopy(v)
	}
	for k, v := range s.Targets {
		c.Targets[k] = slices.Clone(v)
	}
	for k, v := range s.Certificates {
		c.Certificates[k] = deepCopy(v)
	}
	c.file, c.fileName = s.file, s.fileName
	c.revs = maps.Clone(s.revs)
	return c
}

// docs encodes s as store documents by key.
func (s *State) docs() (map[string][]byte, error) {
	out := map[string][]byte{}
	add := func(key string, v any) error {
		b, err := Encode(v)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", key, err)
		}
		out[key] = b
		return nil
	}
	for k, v := range s.LoadBalancers {
		if err := add(prefixLB+k, v); err != nil {
			return nil, err
		}
	}
	for k, v := range s.TargetGroups {
		if err := add(prefixTG+k, v); err != nil {
			return nil, err
		}
	}
	for k, v := range s.Targets {
		if len(v) == 0 {
			continue
		}
		if err := add(prefixTargets+k, v); err != nil {
			return nil, err
		}
	}
	for k, v := range s.Certificates {
		if err := add(prefixCert+k, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loadState reads every document of the store.
func loadState(ctx context.Context, st store.Store) (*State, int64, error) {
	kvs, rev, err := st.List(ctx, "")
	if err != nil {
		return nil, 0, err
	}
	s := newState()
	for _, kv := range kvs {
		var err error
		switch {
		case strings.HasPrefix(kv.Key, prefixLB):
			v := new(config.LoadBalancer)
			err = decode(kv.Value, v)
			s.LoadBalancers[strings.TrimPrefix(kv.Key, prefixLB)] = v
		case strings.HasPrefix(kv.Key, prefixTG):
			v := new(config.TargetGroup)
			err = decode(kv.Value, v)
			s.TargetGroups[strings.TrimPrefix(kv.Key, prefixTG)] = v
		case strings.HasPrefix(kv.Key, prefixTargets):
			var v []config.Target
			err = decode(kv.Value, &v)
			s.Targets[strings.TrimPrefix(kv.Key, prefixTargets)] = v
		case strings.HasPrefix(kv.Key, prefixCert):
			v := new(CertDoc)
			err = decode(kv.Value, v)
			s.Certificates[strings.TrimPrefix(kv.Key, prefixCert)] = v
		default:
			continue // settings and keys of later versions
		}
		if err != nil {
			return nil, 0, fmt.Errorf("store document %s is unreadable: %w", kv.Key, err)
		}
		s.revs[kv.Key] = kv.ModRevision
	}
	return s, rev, nil
}

// Encode writes v as JSON with the config file's key names.
func Encode(v any) ([]byte, error) { return yaml.MarshalWithOptions(v, yaml.JSON()) }

func decode(b []byte, v any) error { return yaml.UnmarshalWithOptions(b, v, yaml.Strict()) }

// deepCopy copies a config value through its encoding.
func deepCopy[T any](v *T) *T {
	b, err := Encode(v)
	if err != nil {
		panic(fmt.Sprintf("controlplane: copying %T: %v", v, err))
	}
	out := new(T)
	if err := decode(b, out); err != nil {
		panic(fmt.Sprintf("controlplane: copying %T: %v", v, err))
	}
	return out
}
