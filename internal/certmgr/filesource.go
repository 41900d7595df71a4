package certmgr

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluicelb/sluice/internal/certs"
)

// fileSource serves a certificate read from PEM files and re-reads them
// when they change. certbot renews by pointing the symlinks of live/NAME at
// new files, one file at a time, so a load that fails is retried at the
// next change and reported only if it still fails after a grace period.
type fileSource struct {
	name                      string
	certFile, keyFile, chFile string
	cur                       atomic.Pointer[tls.Certificate]
	stopped                   atomic.Bool

	// Touched by the watcher only.
	sigs         [3]fileSig
	failingSince time.Time
	failure      string // the last load error, "" when loading works
	reported     string // the failure already logged
	warned       int    // smallest expiry threshold (days) warned for cur; 0 none
	warnedSerial string
}

// fileSig identifies a file's content cheaply: a symlink swap or a rewrite
// changes it.
type fileSig struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
	missing  bool
}

func statSig(path string) fileSig {
	if path == "" {
		return fileSig{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileSig{missing: true}
	}
	sig := fileSig{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		sig.dev, sig.ino = uint64(st.Dev), st.Ino
	}
	return sig
}

func newFileSource(m *Manager, s *spec) (*fileSource, error) {
	f := &fileSource{name: s.cfg.Certificates[s.index].Name, certFile: s.CertFile, keyFile: s.KeyFile, chFile: s.ChainFile}
	f.sigs = f.stat()
	c, err := certs.LoadFiles(f.certFile, f.keyFile, f.chFile)
	if err != nil {
		// Point at the file the first problem names.
		field, value := "cert_file", s.cfg.Certificates[s.index].CertFile
		if msg := err.Error(); strings.HasPrefix(msg, f.keyFile+":") {
			field, value = "key_file", s.cfg.Certificates[s.index].KeyFile
		} else if f.chFile != "" && strings.HasPrefix(msg, f.chFile+":") {
			field, value = "chain_file", s.cfg.Certificates[s.index].ChainFile
		}
		return nil, s.fieldError(field, value, "cannot be used: %v", err)
	}
	f.cur.Store(c)
	f.checkExpiry(m, m.o.Clock.Now())
	return f, nil
}

func (f *fileSource) stat() [3]fileSig {
	return [3]fileSig{statSig(f.certFile), statSig(f.keyFile), statSig(f.chFile)}
}

func (f *fileSource) candidates(dst []*tls.Certificate, _ *tls.ClientHelloInfo, _ string) []*tls.Certificate {
	return append(dst, f.cur.Load())
}

func (f *fileSource) fallback() *tls.Certificate { return f.cur.Load() }
func (f *fileSource) start(m *Manager)           { f.staple(m, f.cur.Load()) }
func (f *fileSource) stop()                      { f.stopped.Store(true) }

// staple fetches an OCSP response for c in the background and, while c is
// still the certificate served, swaps in a copy carrying it; it refreshes
// the staple as the response ages. Without a responder in the certificate
// it does nothing; when the responder fails, handshakes go on unstapled.
func (f *fileSource) staple(m *Manager, c *tls.Certificate) {
	if c.Leaf == nil || len(c.Leaf.OCSPServer) == 0 || len(c.Certificate) < 2 {
		return
	}
	go func() {
		cp := *c
		ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
		refresh, err := certs.StapleOCSP(ctx, m.o.HTTPClient, &cp, m.o.Clock.Now())
		cancel()
		next := c
		switch {
		case errors.Is(err, certs.ErrNoOCSP) || m.ctx.Err() != nil:
			return
		case errors.Is(err, certs.ErrRevoked):
			m.log.Error("certificate is revoked according to its CA; replace it", "certificate", f.name, "err", err)
			refresh = m.o.Clock.Now().Add(time.Hour)
		case err != nil:
			m.log.Warn("no OCSP response to staple; handshakes go on without one", "certificate", f.name, "err", err)
			refresh = m.o.Clock.Now().Add(10 * time.Minute)
		default:
			if !f.cur.CompareAndSwap(c, &cp) {
				return // the files changed; the new certificate staples itself
			}
			next = &cp
			m.log.Debug("OCSP response stapled", "certificate", f.name, "refresh", refresh)
		}
		m.o.Clock.AfterFunc(refresh.Sub(m.o.Clock.Now()), func() {
			if !f.stopped.Load() && f.cur.Load() == next {
				f.staple(m, next)
			}
		})
	}()
}

// reportAfter is how long a broken set of files may stay broken before it
// is logged: long enough for certbot to finish swapping its symlinks.
const reportAfter = 5 * time.Second

// poll re-reads the files when they changed and warns about expiry.
func (f *fileSource) poll(m *Manager, now time.Time) {
	if sigs := f.stat(); sigs != f.sigs {
		f.sigs = sigs
		c, err := certs.LoadFiles(f.certFile, f.keyFile, f.chFile)
		if err != nil {
			if f.failure == "" {
				f.failingSince = now
			}
			f.failure = err.Error()
		} else {
			old := f.cur.Swap(c)
			f.staple(m, c)
			if f.reported != "" {
				m.log.Info("certificate files are valid again", "certificate", f.name)
			}
			f.failure, f.reported = "", ""
			m.log.Info("certificate files changed; serving the new certificate from the next handshake",
				"certificate", f.name, "names", c.Leaf.DNSNames, "not_after", c.Leaf.NotAfter.UTC(),
				"serial", c.Leaf.SerialNumber.Text(16), "previous_not_after", old.Leaf.NotAfter.UTC())
		}
	}
	if f.failure != "" && f.failure != f.reported && now.Sub(f.failingSince) >= reportAfter {
		f.reported = f.failure
		m.log.Error("certificate files cannot be used; still serving the previous certificate",
			"certificate", f.name, "err", f.failure)
	}
	f.checkExpiry(m, now)
}

// Expiry warnings, in days before NotAfter. sluice does not renew
// certificates from files, so it says so while there is time to act.
var warnDays = []int{30, 7, 1}

func (f *fileSource) checkExpiry(m *Manager, now time.Time) {
	leaf := f.cur.Load().Leaf
	serial := leaf.SerialNumber.String()
	if serial != f.warnedSerial {
		f.warnedSerial, f.warned = serial, 0
	}
	left := leaf.NotAfter.Sub(now)
	if left <= 0 {
		if f.warned != -1 {
			f.warned = -1
			m.log.Error("certificate has expired; clients will refuse it. Renew it and replace the files",
				"certificate", f.name, "file", f.certFile, "not_after", leaf.NotAfter.UTC())
		}
		return
	}
	level := 0
	for _, d := range warnDays {
		if left <= time.Duration(d)*24*time.Hour {
			level = d
		}
	}
	if level == 0 || f.warned != 0 && f.warned <= level {
		return
	}
	f.warned = level
	days := fmt.Sprintf("%d days", level)
	if level == 1 {
		days = "1 day"
	}
	m.log.Warn("certificate expires within "+days+"; sluice does not renew certificates from files. Renew it (for example with certbot renew) and sluice will pick up the new files",
		"certificate", f.name, "file", f.certFile, "not_after", leaf.NotAfter.UTC(), "days_left", int(left.Hours()/24))
}
