package balancer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelb/sluice/internal/target"
)

// KeySize is the size of a stickiness key: AES-256.
const KeySize = 32

// Keyring seals and opens stickiness cookie values. A value is sealed with
// AES-256-GCM, so a client can neither read nor forge it, and carries its own
// expiry. A Keyring is safe for concurrent use.
//
// Each value is sealed under its own key, derived with HMAC-SHA256 from the
// keyring key and a random 128-bit salt carried in the value. Cookies are
// reissued on many responses for as long as the key file lives; with one key
// and random 96-bit GCM nonces that volume would approach the point where a
// repeated nonce becomes likely, and a repeated nonce lets a client forge
// values.
type Keyring struct {
	key [KeySize]byte
}

// NewKeyring returns a keyring using key, which must be KeySize bytes.
func NewKeyring(key []byte) (*Keyring, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("stickiness key is %d bytes, want %d", len(key), KeySize)
	}
	k := &Keyring{}
	copy(k.key[:], key)
	return k, nil
}

// LoadOrCreateKey returns a keyring with the key stored at path, creating a
// random key there (mode 0600, parent directories 0700) if the file does not
// exist, so that stickiness survives restarts. A file of the wrong size is an
// error, never silently replaced.
func LoadOrCreateKey(path string) (*Keyring, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("stickiness key: %w", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("stickiness key %s is %d bytes, want %d (remove it to generate a new one; existing sticky cookies will be ignored)",
			path, len(key), KeySize)
	}
	return NewKeyring(key)
}

// createKey writes a new random key to path without ever exposing a partial
// file there: it writes a temporary file and links it into place. If another
// process created path first, its key wins and is returned.
func createKey(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, KeySize)
	rand.Read(key)
	f, err := os.CreateTemp(dir, ".stickiness-key-*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	err = os.Link(tmp, path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// No hard links on this file system: create in place instead.
		err = writeExclusive(path, key)
	}
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	return key, nil
}

// writeExclusive writes b to a new file at path with mode 0600, failing with
// fs.ErrExist if path exists.
func writeExclusive(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// Sealed value layout, base64url without padding:
//
//	salt (16 bytes) | AES-256-GCM ciphertext and tag of the payload
//
// The payload is a version byte, the expiry in unix seconds (8 bytes, big
// endian) and a body. A target body is the uvarint-length-prefixed group and
// id, then a uvarint port; a group body is the group name. The kind is bound
// as additional data so that a group value never opens as a target value or
// vice versa.
const (
	saltSize       = 16
	payloadVersion = 1
	headerSize     = 1 + 8
	maxValueLen    = 4096
)

var (
	adTarget = []byte("sluice stickiness target")
	adGroup  = []byte("sluice stickiness group")
	// zeroNonce is safe because every derived key seals one value.
	zeroNonce = make([]byte, 12)
)

// SealTarget returns an opaque cookie value naming tk, valid until expires.
func (k *Keyring) SealTarget(tk target.Key, expires time.Time) string {
	b := header(expires, 3*binary.MaxVarintLen64+len(tk.Group)+len(tk.ID))
	b = binary.AppendUvarint(b, uint64(len(tk.Group)))
	b = append(b, tk.Group...)
	b = binary.AppendUvarint(b, uint64(len(tk.ID)))
	b = append(b, tk.ID...)
	b = binary.AppendUvarint(b, uint64(tk.Port))
	return k.seal(b, adTarget)
}

// OpenTarget returns the target key in v if v was sealed by SealTarget with
// this keyring and has not expired at now. Anything else (tampered, expired,
// a group value, garbage) reports false and is to be treated as no cookie.
func (k *Keyring) OpenTarget(v string, now time.Time) (target.Key, bool) {
	body, ok := k.open(v, adTarget, now)
	if !ok {
		return target.Key{}, false
	}
	group, body, ok := readString(body)
	if !ok {
		return target.Key{}, false
	}
	id, body, ok := readString(body)
	if !ok {
		return target.Key{}, false
	}
	port, n := binary.Uvarint(body)
	if n <= 0 || n != len(body) || port > 65535 {
		return target.Key{}, false
	}
	return target.Key{Group: group, ID: id, Port: int(port)}, true
}

// SealGroup returns an opaque cookie value naming target group name, valid
// until expires.
func (k *Keyring) SealGroup(name string, expires time.Time) string {
	b := header(expires, len(name))
	b = append(b, name...)
	return k.seal(b, adGroup)
}

// OpenGroup returns the group name in v if v was sealed by SealGroup with
// this keyring and has not expired at now. Anything else reports false.
func (k *Keyring) OpenGroup(v string, now time.Time) (string, bool) {
	body, ok := k.open(v, adGroup, now)
	if !ok {
		return "", false
	}
	return string(body), true
}

// header starts a payload, leaving room for the salt in front and for body
// bytes and the GCM tag behind.
func header(expires time.Time, body int) []byte {
	b := make([]byte, saltSize, saltSize+headerSize+body+16)
	b = append(b, payloadVersion)
	return binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
}

// aead returns the AES-256-GCM instance for one value's salt.
func (k *Keyring) aead(salt []byte) cipher.AEAD {
	m := hmac.New(sha256.New, k.key[:])
	m.Write([]byte("sluice stickiness v1"))
	m.Write(salt)
	b, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // unreachable: a SHA-256 sum is a valid AES-256 key
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		panic(err) // unreachable: AES has a 16-byte block
	}
	return a
}

// seal fills the salt at the front of b and encrypts the payload after it in
// place.
func (k *Keyring) seal(b, ad []byte) string {
	salt := b[:saltSize]
	rand.Read(salt)
	out := k.aead(salt).Seal(b[saltSize:saltSize], zeroNonce, b[saltSize:], ad)
	return base64.RawURLEncoding.EncodeToString(b[:saltSize+len(out)])
}

// open decrypts v and checks its version and expiry, returning the body.
func (k *Keyring) open(v string, ad []byte, now time.Time) ([]byte, bool) {
	if len(v) > maxValueLen {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < saltSize+headerSize+16 {
		return nil, false
	}
	ct := raw[saltSize:]
	p, err := k.aead(raw[:saltSize]).Open(ct[:0], zeroNonce, ct, ad)
	if err != nil || len(p) < headerSize || p[0] != payloadVersion {
		return nil, false
	}
	if exp := int64(binary.BigEndian.Uint64(p[1:headerSize])); now.Unix() >= exp {
		return nil, false
	}
	return p[headerSize:], true
}

// readString reads a uvarint-length-prefixed string from b.
func readString(b []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", nil, false
	}
	return string(b[n : n+int(l)]), b[n+int(l):], true
}
