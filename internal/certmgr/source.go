package certmgr

import (
	"crypto/tls"
)

// source is one certificate entry of the config.
type source interface {
	// candidates appends the certificates that may serve name now.
	candidates(dst []*tls.Certificate, name string) []*tls.Certificate
	// onDemand obtains a certificate for name when the source issues on
	// demand and allows it; nil and nil otherwise.
	onDemand(hello *tls.ClientHelloInfo, name string) (*tls.Certificate, error)
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
