package server

import (
	"os"

	"github.com/sluicelb/sluice/internal/config"
)

// ApplyFile loads, validates and applies the config file at path. A bad file
// is refused with the error and the configuration being served stays. (sluice
// serve goes through package controlplane, which also watches the file;
// this is the short path for tools and tests.)
func (s *Server) ApplyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	cfg, err := config.Decode(path, data)
	if err != nil {
		return err
	}
	return s.Apply(cfg)
}
