package acmetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"time"
)

// front is the accept loop in front of the ACME server. While down it resets
// every connection it accepts, and going down closes the connections it has
// handed out, so keep-alive clients cannot slip past it.
type front struct {
	net.Listener

	mu      sync.Mutex
	down    bool
	refused int
	conns   map[*frontConn]struct{}
}

func newFront(ln net.Listener) *front {
	return &front{Listener: ln, conns: make(map[*frontConn]struct{})}
}

func (f *front) Accept() (net.Conn, error) {
	for {
		c, err := f.Listener.Accept()
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		if f.down {
			f.refused++
			f.mu.Unlock()
			reset(c)
			continue
		}
		fc := &frontConn{Conn: c, f: f}
		f.conns[fc] = struct{}{}
		f.mu.Unlock()
		return fc, nil
	}
}

func (f *front) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	var open []*frontConn
	if down {
		for fc := range f.conns {
			open = append(open, fc)
		}
	}
	f.mu.Unlock()
	for _, fc := range open {
		reset(fc.Conn)
	}
}

func (f *front) refusedConns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}

// frontConn leaves the front's set when the server closes it.
type frontConn struct {
	net.Conn
	f    *front
	once sync.Once
}

func (c *frontConn) Close() error {
	c.once.Do(func() {
		c.f.mu.Lock()
		delete(c.f.conns, c)
		c.f.mu.Unlock()
	})
	return c.Conn.Close()
}

// reset closes c with an RST rather than a FIN, so the peer sees "connection
// reset" at once.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// newServerCert mints a self-signed certificate for the ACME server's
// HTTPS, valid for the loopback addresses and localhost. It is a CA
// certificate so that it can sit in any client's trusted roots.
func newServerCert() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "acmetest Pebble WFE"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
