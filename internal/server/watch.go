package server

import (
	"bytes"
	"context"
	"os"
	"time"

	"github.com/sluicelb/sluice/internal/config"
)

// ApplyFile loads, validates and applies the config file at path. A bad file
// is refused with the error and the configuration being served stays.
func (s *Server) ApplyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s.fileMu.Lock()
	s.lastFile = data
	s.fileMu.Unlock()
	cfg, err := config.Decode(path, data)
	if err != nil {
		return err
	}
	return s.Apply(cfg)
}

// Watch reloads the config file at path when its content differs from what
// was last loaded (checked every interval, so editors that replace the file
// and symlink swaps are both seen) or when reload receives. A refused reload
// is logged and the previous configuration keeps serving. Watch returns when
// ctx ends.
func (s *Server) Watch(ctx context.Context, path string, interval time.Duration, reload <-chan struct{}) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		forced := false
		select {
		case <-ctx.Done():
			return
		case <-reload:
			forced = true
		case <-t.C:
		}
		if !forced {
			cur, err := os.ReadFile(path)
			s.fileMu.Lock()
			same := err != nil || bytes.Equal(cur, s.lastFile)
			s.fileMu.Unlock()
			if same {
				continue
			}
		}
		if err := s.ApplyFile(path); err != nil {
			s.log.Error("config reload refused; keeping the running configuration", "file", path, "err", err)
			continue
		}
		s.log.Info("config reloaded", "file", path)
	}
}
