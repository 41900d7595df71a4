package certmgr

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"time"

	"github.com/caddyserver/certmagic"
)

// Storage keys of the local CA. They live in the certificate storage, so
// nodes sharing a store share one CA.
const (
	caRootKey     = "sluice/local-ca/root.pem"
	caKeyKey      = "sluice/local-ca/root.key"
	caLockKey     = "sluice_local_ca"
	caRootName    = "sluice local CA"
	caRootTTL     = 10 * 365 * 24 * time.Hour
	localIssuerID = "sluice-local-ca"
)

// localCA is the development CA behind source: internal. Its root is
// created once and kept in storage; it signs leaves directly.
type localCA struct {
	root    *x509.Certificate
	rootPEM []byte
	key     crypto.Signer
}

// loadOrCreateCA returns the CA kept in storage, creating it on first use.
// A storage lock keeps two processes from creating two roots.
func loadOrCreateCA(ctx context.Context, st certmagic.Storage) (*localCA, error) {
	if ca, err := loadCA(ctx, st); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, err
	}
	if err := st.Lock(ctx, caLockKey); err != nil {
		return nil, fmt.Errorf("locking the local CA: %w", err)
	}
	defer st.Unlock(context.WithoutCancel(ctx), caLockKey)
	if ca, err := loadCA(ctx, st); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ca, err
	}
	ca, keyPEM, err := newCA(time.Now())
	if err != nil {
		return nil, err
	}
	if err := st.Store(ctx, caKeyKey, keyPEM); err != nil {
		return nil, fmt.Errorf("storing the local CA key: %w", err)
	}
	if err := st.Store(ctx, caRootKey, ca.rootPEM); err != nil {
		return nil, fmt.Errorf("storing the local CA root: %w", err)
	}
	return ca, nil
}

func loadCA(ctx context.Context, st certmagic.Storage) (*localCA, error) {
	rootPEM, err := st.Load(ctx, caRootKey)
	if err != nil {
		return nil, err
	}
	keyPEM, err := st.Load(ctx, caKeyKey)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(rootPEM)
	if b == nil {
		return nil, fmt.Errorf("local CA root %s is not PEM", caRootKey)
	}
	root, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("local CA root: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("local CA key %s is not PEM", caKeyKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("local CA key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("local CA key cannot sign")
	}
	return &localCA{root: root, rootPEM: rootPEM, key: signer}, nil
}

func newCA(now time.Time) (*localCA, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: caRootName + " " + host, Organization: []string{"sluice"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caRootTTL),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	ca := &localCA{root: root, rootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}
	return ca, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n.Add(n, big.NewInt(1))
}

// localIssuer is a certmagic.Issuer signing with the local CA.
type localIssuer struct {
	ca       *localCA
	lifetime time.Duration
	now      func() time.Time
}

var _ certmagic.Issuer = (*localIssuer)(nil)

func (li *localIssuer) IssuerKey() string { return localIssuerID }

// Issue signs a leaf for the names of csr.
func (li *localIssuer) Issue(ctx context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	now := li.now()
	notAfter := now.Add(li.lifetime)
	if notAfter.After(li.ca.root.NotAfter) {
		notAfter = li.ca.root.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		DNSNames:     csr.DNSNames,
		IPAddresses:  csr.IPAddresses,
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if len(csr.DNSNames) > 0 {
		tmpl.Subject.CommonName = csr.DNSNames[0]
	}
	if _, ok := csr.PublicKey.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, li.ca.root, csr.PublicKey, li.ca.key)
	if err != nil {
		return nil, fmt.Errorf("signing with the local CA: %w", err)
	}
	return &certmagic.IssuedCertificate{Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// RootPEM returns the PEM root certificate of the local CA kept in st,
// creating the CA if it does not exist yet.
func RootPEM(ctx context.Context, st certmagic.Storage) ([]byte, error) {
	ca, err := loadOrCreateCA(ctx, st)
	if err != nil {
		return nil, err
	}
	return ca.rootPEM, nil
}
