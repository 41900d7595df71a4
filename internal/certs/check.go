package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// maxFileSize bounds what ReadFile reads: a certificate bundle is a few
	// KB, and a path such as /dev/zero must not stall a config load.
	maxFileSize = 1 << 20
	// maxCertificates bounds the certificates Check orders (pairwise
	// signature checks); real chains hold 2 to 4.
	maxCertificates = 10
	// expiryWarning is how close to NotAfter a leaf draws a warning.
	expiryWarning = 30 * 24 * time.Hour
)

// Problem is one thing wrong with a certificate bundle.
type Problem struct {
	File    string // the file concerned; empty when the bundle came without file names
	Msg     string // what is wrong and how to fix it
	Warning bool   // the bundle is usable, but should be fixed
	// Validity marks an error about the validity window (expired, not yet
	// valid): ACM refuses such an import, but a server already running
	// with the files keeps going and warns instead (see LoadFiles).
	Validity bool
}

// Error returns "FILE: MSG", or MSG alone when File is empty.
func (p Problem) Error() string {
	if p.File == "" {
		return p.Msg
	}
	return p.File + ": " + p.Msg
}

// Bundle is a certificate to check: PEM certificate (leaf first, optionally
// followed by its chain), PEM private key and an optional PEM chain. The
// *File fields only name the inputs in messages.
type Bundle struct {
	CertFile, KeyFile, ChainFile string
	Cert, Key, Chain             []byte // Chain may be empty
}

// role is what a file is given as; roles combine as a bit set.
type role int

const (
	roleCert role = 1 << iota
	roleChain
	roleKey
)

func (r role) String() string {
	switch r {
	case roleCert:
		return "certificate"
	case roleChain:
		return "chain"
	}
	return "private key"
}

// header is the PEM line a file of the role should start with.
func (r role) header() string {
	if r == roleKey {
		return "-----BEGIN PRIVATE KEY-----"
	}
	return "-----BEGIN CERTIFICATE-----"
}

// Check reports every problem with b as of now, errors and warnings, in a
// stable order; nil means the bundle imports cleanly. Like ACM's import it
// works offline: it parses the PEM text and checks signatures between the
// given certificates only, never against trust roots or the network, so it
// is cheap enough to run at every config load.
func Check(b Bundle, now time.Time) []Problem {
	return check(b, now, 0)
}

// CheckFiles reads the certificate, key and optional chain file (chainFile
// may be empty) and checks them as Check does. A file that cannot be read
// is a Problem naming it.
func CheckFiles(certFile, keyFile, chainFile string, now time.Time) (Bundle, []Problem) {
	b := Bundle{CertFile: certFile, KeyFile: keyFile, ChainFile: chainFile}
	var problems []Problem
	var unread role
	read := func(name string, r role) []byte {
		if name == "" {
			return nil
		}
		data, err := ReadFile(name)
		if err != nil {
			var p Problem
			errors.As(err, &p)
			problems = append(problems, p)
			unread |= r
		}
		return data
	}
	b.Cert = read(certFile, roleCert)
	b.Key = read(keyFile, roleKey)
	b.Chain = read(chainFile, roleChain)
	return b, append(problems, check(b, now, unread)...)
}

// ReadFile reads a certificate, chain or key file of at most 1 MiB. Its
// error is a Problem naming the file.
func ReadFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, readProblem(name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, readProblem(name, err)
	}
	if len(data) > maxFileSize {
		return nil, Problem{File: name, Msg: "is larger than 1 MiB, but a certificate bundle is a few KB; is this the right file?"}
	}
	return data, nil
}

func readProblem(name string, err error) Problem {
	if errors.Is(err, fs.ErrNotExist) {
		return Problem{File: name, Msg: "does not exist; check the path"}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is already in the Problem
	}
	return Problem{File: name, Msg: fmt.Sprintf("cannot be read: %v", err)}
}

// check is Check skipping the inputs in unread, which CheckFiles has
// already reported.
func check(b Bundle, now time.Time, unread role) []Problem {
	c := &checker{now: now}
	var certs []certAt
	if unread&roleCert == 0 {
		certs = c.certificates(b.CertFile, b.Cert, roleCert)
	}
	fromCertFile := len(certs)
	if unread&roleChain == 0 && (b.ChainFile != "" || len(b.Chain) > 0) {
		certs = append(certs, c.certificates(b.ChainFile, b.Chain, roleChain)...)
	}
	var key crypto.PublicKey
	if unread&roleKey == 0 {
		key = c.privateKey(b.KeyFile, b.Key)
	}
	certs = c.dedupe(certs)
	if len(certs) > maxCertificates {
		c.add(certs[0].file, "holds %d certificates, but a chain holds 2 to 4; is this a CA bundle such as ca-certificates.crt? Give only the server certificate and its intermediates", len(certs))
		return c.problems
	}
	leaf := c.order(certs, key)
	if fromCertFile == 0 {
		leaf = -1 // the chain alone holds no server certificate to judge
	}
	c.matchKey(b.KeyFile, key, certs, leaf)
	c.validity(certs, leaf)
	c.keyType(b.KeyFile, key, certs, leaf)
	if leaf >= 0 {
		c.names(certs[leaf])
		c.chainPresent(certs)
	}
	return c.problems
}

type checker struct {
	now      time.Time
	problems []Problem
}

func (c *checker) add(file, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: file, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warn(file, format string, args ...any) {
	c.problems = append(c.problems, Problem{File: file, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// certAt is a parsed certificate and where it came from.
type certAt struct {
	file string
	n    int // position among the file's certificates, from 1
	x    *x509.Certificate
}

// String names the certificate for a message: certificate 2 (CN=R3).
func (ca certAt) String() string {
	s := fmt.Sprintf("certificate %d", ca.n)
	if cn := ca.x.Subject.CommonName; cn != "" {
		return s + " (CN=" + cn + ")"
	}
	if subj := ca.x.Subject.String(); subj != "" {
		return s + " (" + subj + ")"
	}
	return s
}

// in names the certificate, with its file when that is not file.
func (ca certAt) in(file string) string {
	if ca.file == file || ca.file == "" {
		return ca.String()
	}
	return ca.String() + " of " + ca.file
}

// pemBlock is a decoded PEM block and its position in the file, from 1.
type pemBlock struct {
	*pem.Block
	n int
}

// blocks decodes data's PEM blocks. It reports an empty file, DER or other
// non-PEM input and damaged blocks; ok is false when data holds no PEM.
func (c *checker) blocks(file string, data []byte, r role) (blocks []pemBlock, ok bool) {
	starts := beginLines(data)
	if len(starts) == 0 {
		c.notPEM(file, data, r)
		return nil, false
	}
	for i, off := range starts {
		next := len(data)
		if i+1 < len(starts) {
			next = starts[i+1]
		}
		// pem.Decode skips a damaged block and decodes the next one; a
		// block that ends past the next BEGIN line is the damaged one.
		p, rest := pem.Decode(data[off:])
		if p == nil || len(data)-len(rest) > next {
			c.add(file, "has a damaged PEM block at line %d (a missing END line, or broken base64); copy the file again from its source",
				bytes.Count(data[:off], []byte("\n"))+1)
			continue
		}
		blocks = append(blocks, pemBlock{Block: p, n: i + 1})
	}
	return blocks, true
}

// beginLines returns the offsets of the lines that start a PEM block.
func beginLines(data []byte) []int {
	var starts []int
	begin := []byte("-----BEGIN ")
	for i := 0; ; {
		j := bytes.Index(data[i:], begin)
		if j < 0 {
			return starts
		}
		if off := i + j; off == 0 || data[off-1] == '\n' {
			starts = append(starts, off)
		}
		i += j + 1
	}
}

// notPEM explains input without a single PEM block.
func (c *checker) notPEM(file string, data []byte, r role) {
	name := orFILE(file)
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		c.add(file, "is empty; it should hold PEM text starting with %s", r.header())
	case data[0] != 0x30: // not an ASN.1 SEQUENCE: text, or something else
		c.add(file, "holds no PEM block; it should hold PEM text starting with %s", r.header())
	case isDERCertificate(data):
		c.add(file, "holds a DER (binary) certificate, but sluice reads PEM; convert it: openssl x509 -inform der -in %s -out %s", name, pemName(name))
	case isDERKey(data):
		c.add(file, "holds a DER (binary) private key, but sluice reads PEM; convert it: openssl pkey -inform der -in %s -out %s", name, pemName(name))
	default:
		c.add(file, "holds binary data that is neither a DER certificate nor a DER key (a PKCS#12 .pfx/.p12 file?); sluice reads PEM: openssl pkcs12 -in %[1]s -clcerts -nokeys -out cert.pem and openssl pkcs12 -in %[1]s -nocerts -nodes -out key.pem", name)
	}
}

// orFILE is file, or a placeholder for a command line when it is unnamed.
func orFILE(file string) string {
	if file == "" {
		return "FILE"
	}
	return file
}

// pemName is where a command converting name to PEM should write.
func pemName(name string) string {
	ext := filepath.Ext(name)
	if ext == ".pem" {
		return strings.TrimSuffix(name, ext) + "-converted.pem"
	}
	return strings.TrimSuffix(name, ext) + ".pem"
}

func isDERCertificate(data []byte) bool {
	_, err := x509.ParseCertificates(data)
	return err == nil
}

func isDERKey(data []byte) bool {
	_, err := parseKey(&pem.Block{Bytes: data})
	return err == nil
}

// certificates parses the certificates in a certificate or chain file.
func (c *checker) certificates(file string, data []byte, r role) []certAt {
	if file == "" && len(data) == 0 {
		c.add("", "no %s file given", r)
		return nil
	}
	blocks, ok := c.blocks(file, data, r)
	var certs []certAt
	n := 0
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			c.unexpected(file, b, r)
			continue
		}
		n++
		x, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			c.add(file, "certificate %d cannot be parsed (%v); copy it again from your CA", n, err)
			continue
		}
		certs = append(certs, certAt{file: file, n: n, x: x})
	}
	if ok && n == 0 {
		c.add(file, "holds no certificate (no %s block)", roleCert.header())
	}
	return certs
}

func isKeyBlock(typ string) bool { return strings.HasSuffix(typ, "PRIVATE KEY") }

// unexpected reports a PEM block that does not belong in a file of role r.
func (c *checker) unexpected(file string, b pemBlock, r role) {
	switch {
	case isKeyBlock(b.Type):
		c.add(file, "holds a private key (PEM block %d), but a %s file holds only certificates; give the key as the key file", b.n, r)
	case strings.HasSuffix(b.Type, "CERTIFICATE REQUEST"):
		c.add(file, "holds a certificate signing request (PEM block %d), not a certificate; send it to your CA and use the certificate it returns", b.n)
	case r == roleKey && b.Type == "CERTIFICATE":
		c.add(file, "holds a certificate (PEM block %d), but a private key file holds only the key; give certificates as the certificate or chain file", b.n)
	case r == roleKey && b.Type == "PUBLIC KEY":
		c.add(file, "holds a public key (PEM block %d), not the private key; use the private key the certificate was requested with", b.n)
	case r == roleKey:
		c.add(file, "holds an unexpected PEM block %q (block %d); a private key file holds only the key", b.Type, b.n)
	default:
		c.add(file, "holds an unexpected PEM block %q (block %d); a %s file holds only CERTIFICATE blocks", b.Type, b.n, r)
	}
}

// privateKey parses the key file and returns the public half of its single
// key, or nil.
func (c *checker) privateKey(file string, data []byte) crypto.PublicKey {
	if file == "" && len(data) == 0 {
		c.add("", "no private key file given")
		return nil
	}
	blocks, ok := c.blocks(file, data, roleKey)
	var keys []crypto.PublicKey
	n := 0
	for _, b := range blocks {
		switch {
		case isKeyBlock(b.Type):
			n++
			if k := c.parseKeyBlock(file, b); k != nil {
				keys = append(keys, k)
			}
		case b.Type == "EC PARAMETERS": // written by openssl ecparam -genkey; harmless
		default:
			c.unexpected(file, b, roleKey)
		}
	}
	switch {
	case ok && n == 0:
		c.add(file, "holds no private key (no %s block)", roleKey.header())
	case n > 1:
		c.add(file, "holds %d private keys; keep only the one that belongs to the certificate", n)
	case len(keys) == 1:
		return keys[0]
	}
	return nil
}

// parseKeyBlock returns the public half of the key in b, or nil after
// reporting why it cannot be used.
func (c *checker) parseKeyBlock(file string, b pemBlock) crypto.PublicKey {
	switch {
	case b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"):
		c.add(file, "holds an encrypted private key (PEM block %d), but sluice needs it unencrypted; decrypt it with openssl pkey -in %s -out %s (it asks for the passphrase) and protect the output with chmod 600",
			b.n, orFILE(file), decryptedName(orFILE(file)))
		return nil
	case b.Type != "PRIVATE KEY" && b.Type != "RSA PRIVATE KEY" && b.Type != "EC PRIVATE KEY":
		c.add(file, "holds a %q (PEM block %d), which sluice cannot use; use an RSA 2048–4096 or ECDSA P-256/P-384 key in PEM", b.Type, b.n)
		return nil
	}
	k, err := parseKey(b.Block)
	if err != nil {
		c.add(file, "private key (PEM block %d) cannot be parsed: %v", b.n, err)
		return nil
	}
	return k.(interface{ Public() crypto.PublicKey }).Public()
}

// decryptedName is where a command decrypting name should write.
func decryptedName(name string) string {
	ext := filepath.Ext(name)
	return strings.TrimSuffix(name, ext) + "-decrypted" + ext
}

// parseKey parses a PKCS#1, SEC 1 or PKCS#8 key, trying first the format
// the PEM type names, as crypto/tls does.
func parseKey(b *pem.Block) (crypto.PrivateKey, error) {
	parsers := []func([]byte) (crypto.PrivateKey, error){
		func(d []byte) (crypto.PrivateKey, error) { return x509.ParsePKCS8PrivateKey(d) },
		func(d []byte) (crypto.PrivateKey, error) { return x509.ParsePKCS1PrivateKey(d) },
		func(d []byte) (crypto.PrivateKey, error) { return x509.ParseECPrivateKey(d) },
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		parsers[0], parsers[1] = parsers[1], parsers[0]
	case "EC PRIVATE KEY":
		parsers[0], parsers[2] = parsers[2], parsers[0]
	}
	var first error
	for _, parse := range parsers {
		k, err := parse(b.Bytes)
		if err == nil {
			if _, ok := k.(interface{ Public() crypto.PublicKey }); ok {
				return k, nil
			}
			err = fmt.Errorf("unsupported key type %T", k)
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// dedupe drops certificates given twice, reporting each.
func (c *checker) dedupe(certs []certAt) []certAt {
	var out []certAt
	for _, ca := range certs {
		dup := -1
		for i, o := range out {
			if bytes.Equal(o.x.Raw, ca.x.Raw) {
				dup = i
				break
			}
		}
		if dup < 0 {
			out = append(out, ca)
			continue
		}
		c.add(ca.file, "%s repeats %s; list each certificate once (a fullchain file already holds the chain)", ca, out[dup].in(ca.file))
	}
	return out
}

// issued reports whether parent issued child.
func issued(parent, child *x509.Certificate) bool {
	return bytes.Equal(child.RawIssuer, parent.RawSubject) && child.CheckSignatureFrom(parent) == nil
}

// order checks that each certificate is followed by its issuer and returns
// the index of the server certificate, or -1 when there is none.
func (c *checker) order(certs []certAt, key crypto.PublicKey) int {
	if len(certs) == 0 {
		return -1
	}
	var broken []int // i: certs[i+1] did not issue certs[i]
	for i := 0; i+1 < len(certs); i++ {
		if !issued(certs[i+1].x, certs[i].x) {
			broken = append(broken, i)
		}
	}
	if len(broken) == 0 {
		return 0
	}
	leaf := leafIndex(certs, key)
	if path := chainFrom(certs, leaf); len(path) == len(certs) {
		var names []string
		for _, i := range path {
			names = append(names, certs[i].in(certs[0].file))
		}
		c.add(certs[0].file, "holds the certificates in the wrong order; put the server certificate first, then each one's issuer: %s",
			strings.Join(names, ", "))
		return leaf
	}
	if first := firstNonCA(certs); certs[0].x.IsCA && first > 0 {
		c.add(certs[0].file, "holds the certificates in the wrong order: %s is a CA certificate but %s is not; put the server certificate first, then its issuer, then that one's issuer",
			certs[0], certs[first].in(certs[0].file))
		return leaf
	}
	for _, i := range broken {
		child, parent := certs[i], certs[i+1]
		c.add(parent.file, "%s does not chain: it did not issue %s, which was issued by %q; each certificate must be followed by the one that issued it (get the right intermediate from your CA)",
			parent, child.in(parent.file), child.x.Issuer.String())
	}
	return 0
}

// leafIndex guesses the server certificate: the one the key belongs to,
// else the first that is not a CA, else the first.
func leafIndex(certs []certAt, key crypto.PublicKey) int {
	if key != nil {
		for i, ca := range certs {
			if samePublicKey(ca.x.PublicKey, key) {
				return i
			}
		}
	}
	return max(firstNonCA(certs), 0)
}

func firstNonCA(certs []certAt) int {
	for i, ca := range certs {
		if !ca.x.IsCA {
			return i
		}
	}
	return -1
}

// chainFrom follows issuers from certs[start] and returns the indexes of
// the path.
func chainFrom(certs []certAt, start int) []int {
	path := []int{start}
	used := map[int]bool{start: true}
	for cur := start; ; {
		next := -1
		for j, ca := range certs {
			if !used[j] && issued(ca.x, certs[cur].x) {
				next = j
				break
			}
		}
		if next < 0 {
			return path
		}
		path, used[next], cur = append(path, next), true, next
	}
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// matchKey checks that the key belongs to the server certificate.
func (c *checker) matchKey(keyFile string, key crypto.PublicKey, certs []certAt, leaf int) {
	if key == nil || leaf < 0 || samePublicKey(certs[leaf].x.PublicKey, key) {
		return
	}
	for _, ca := range certs {
		if samePublicKey(ca.x.PublicKey, key) {
			c.add(keyFile, "belongs to %s, not to %s, the server certificate; put the certificate the key belongs to first",
				ca.in(keyFile), certs[leaf].in(keyFile))
			return
		}
	}
	c.add(keyFile, "does not belong to %s; compare openssl x509 -noout -pubkey -in CERT | openssl sha256 with openssl pkey -pubout -in KEY | openssl sha256, and use the key the certificate was requested with",
		certs[leaf].in(keyFile))
}

// validity checks every certificate's validity window and warns when the
// server certificate expires soon.
func (c *checker) validity(certs []certAt, leaf int) {
	for i, ca := range certs {
		renew := "get the current one from your CA"
		if i == leaf {
			renew = "renew it"
		}
		n := len(c.problems)
		switch {
		case c.now.Before(ca.x.NotBefore):
			c.add(ca.file, "%s is not valid until %s (in %s); wait, or check this machine's clock",
				ca, date(ca.x.NotBefore), days(ca.x.NotBefore.Sub(c.now)))
		case c.now.After(ca.x.NotAfter):
			c.add(ca.file, "%s expired on %s (%s ago); %s", ca, date(ca.x.NotAfter), days(c.now.Sub(ca.x.NotAfter)), renew)
		case i == leaf && ca.x.NotAfter.Sub(c.now) < expiryWarning:
			c.warn(ca.file, "%s expires on %s (in %s); renew it", ca, date(ca.x.NotAfter), days(ca.x.NotAfter.Sub(c.now)))
		}
		for j := n; j < len(c.problems); j++ {
			c.problems[j].Validity = !c.problems[j].Warning
		}
	}
}

func date(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func days(d time.Duration) string {
	switch n := int(d / (24 * time.Hour)); n {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	default:
		return fmt.Sprintf("%d days", n)
	}
}

// keyType checks the server certificate's key, or the private key when
// there is no certificate.
func (c *checker) keyType(keyFile string, key crypto.PublicKey, certs []certAt, leaf int) {
	const fix = "sluice accepts RSA 2048–4096 and ECDSA P-256/P-384; make a new key (openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem) and have the certificate reissued"
	switch {
	case leaf >= 0 && !supportedKey(certs[leaf].x.PublicKey):
		c.add(certs[leaf].file, "%s has an %s key; %s", certs[leaf], KeyType(certs[leaf].x.PublicKey), fix)
	case leaf < 0 && key != nil && !supportedKey(key):
		c.add(keyFile, "is an %s key; %s", KeyType(key), fix)
	}
}

func supportedKey(pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		return bits >= 2048 && bits <= 4096
	case *ecdsa.PublicKey:
		return k.Curve == elliptic.P256() || k.Curve == elliptic.P384()
	}
	return false
}

// KeyType names a public key's algorithm and size: "RSA 2048",
// "ECDSA P-256", "Ed25519".
func KeyType(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PublicKey:
		return fmt.Sprintf("ECDH %v", k.Curve())
	}
	return fmt.Sprintf("%T", pub)
}

// names warns about a server certificate that names no host.
func (c *checker) names(leaf certAt) {
	if len(leaf.x.DNSNames) > 0 || len(leaf.x.IPAddresses) > 0 {
		return
	}
	c.warn(leaf.file, "%s names no DNS name or IP address (subject alternative name); clients ignore the common name and will refuse it, and sluice serves it only as the default certificate: have it reissued with its names as DNS SANs", leaf)
}

// chainPresent warns about a lone certificate that its issuer did not come
// with: clients without the intermediate refuse it.
func (c *checker) chainPresent(certs []certAt) {
	if len(certs) != 1 || bytes.Equal(certs[0].x.RawIssuer, certs[0].x.RawSubject) {
		return
	}
	c.warn(certs[0].file, "holds no chain: %s was issued by %q, which is missing; clients that lack that intermediate will refuse it, so append the intermediate certificates (certbot: use fullchain.pem)",
		certs[0], certs[0].x.Issuer.String())
}
