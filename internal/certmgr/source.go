package certmgr

import (
	"crypto/tls"
)

// source is one certificate entry of the config.
type source interface {
	// candidates appends the certificates that may serve name now. A
	// source issuing on demand obtains or renews the certificate of a name
	// its allow-list covers here, during the handshake.
	candidates(dst []*tls.Certificate, hello *tls.ClientHelloInfo, name string) []*tls.Certificate
	// fallback is served when the source is a listener's default and no
	// certificate matched the client's name; nil when none is available.
	fallback() *tls.Certificate
	start(m *Manager)
	stop()
}

// newSource builds the source of s without starting it.
func (m *Manager) newSource(s *spec) (source, error) {
	switch s.SourceOrDefault() {
	case "internal", "acme":
		return newManagedSource(m, s)
	}
	return newFileSource(m, s)
}
