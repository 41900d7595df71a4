package balancer

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelb/sluice/internal/target"
)

func testKeyring(tb testing.TB, fill byte) *Keyring {
	tb.Helper()
	k, err := NewKeyring(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

var tk = target.Key{Group: "web", ID: "10.0.0.7", Port: 8080}

func TestSealRoundTrip(t *testing.T) {
	k := testKeyring(t, 1)
	exp := t0.Add(24 * time.Hour)
	v := k.SealTarget(tk, exp)
	if strings.ContainsAny(v, "=+/") || strings.Contains(v, tk.ID) {
		t.Errorf("value %q is not opaque base64url without padding", v)
	}
	if got, ok := k.OpenTarget(v, t0); !ok || got != tk {
		t.Errorf("OpenTarget = %v, %v; want %v", got, ok, tk)
	}
	if v2 := k.SealTarget(tk, exp); v2 == v {
		t.Error("two seals of the same key are equal; values must not be linkable")
	}
	g := k.SealGroup("blue", exp)
	if got, ok := k.OpenGroup(g, t0); !ok || got != "blue" {
		t.Errorf("OpenGroup = %q, %v; want blue", got, ok)
	}
}

func TestOpenRejects(t *testing.T) {
	k := testKeyring(t, 1)
	exp := t0.Add(time.Hour)
	v := k.SealTarget(tk, exp)
	raw, _ := base64.RawURLEncoding.DecodeString(v)

	tests := map[string]string{
		"empty":       "",
		"not base64":  "!!!",
		"short":       v[:20],
		"truncated":   v[:len(v)-1],
		"too long":    strings.Repeat("A", maxValueLen+1),
		"group value": k.SealGroup("web", exp),
		"other key":   testKeyring(t, 2).SealTarget(tk, exp),
	}
	for i := range raw {
		flipped := bytes.Clone(raw)
		flipped[i] ^= 0x01
		tests[fmt.Sprintf("flip byte %d", i)] = base64.RawURLEncoding.EncodeToString(flipped)
	}
	for name, val := range tests {
		t.Run(name, func(t *testing.T) {
			if got, ok := k.OpenTarget(val, t0); ok {
				t.Errorf("OpenTarget accepted it: %v", got)
			}
		})
	}
	if _, ok := k.OpenGroup(v, t0); ok {
		t.Error("OpenGroup accepted a target value")
	}
}

func TestOpenExpired(t *testing.T) {
	k := testKeyring(t, 1)
	exp := t0.Add(time.Hour)
	v, g := k.SealTarget(tk, exp), k.SealGroup("blue", exp)
	if _, ok := k.OpenTarget(v, exp.Add(-time.Second)); !ok {
		t.Error("rejected a second before expiry")
	}
	for _, now := range []time.Time{exp, exp.Add(time.Minute)} {
		if _, ok := k.OpenTarget(v, now); ok {
			t.Errorf("OpenTarget accepted at %v, expiry %v", now, exp)
		}
		if _, ok := k.OpenGroup(g, now); ok {
			t.Errorf("OpenGroup accepted at %v, expiry %v", now, exp)
		}
	}
}

func TestWrongGroupCookieIgnored(t *testing.T) {
	k := testKeyring(t, 1)
	ts := newTargets(1) // group "g"
	g := &Group{Name: "g", Targets: ts}
	other := target.Key{Group: "h", ID: ts[0].Key.ID, Port: ts[0].Key.Port}
	key, ok := k.OpenTarget(k.SealTarget(other, t0.Add(time.Hour)), t0)
	if !ok {
		t.Fatal("round trip failed")
	}
	if _, ok := g.Sticky(key); ok {
		t.Error("a cookie of group h pinned a target of group g")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "stickiness.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Errorf("key file mode %v size %d, want 0600 and %d", fi.Mode().Perm(), fi.Size(), KeySize)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %v, want 0700", di.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".stickiness-key-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := k2.OpenTarget(k1.SealTarget(tk, t0.Add(time.Hour)), t0); !ok || got != tk {
		t.Error("reloaded key does not open a value sealed before the restart")
	}
}

func TestLoadOrCreateKeyWrongSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stickiness.key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadOrCreateKey(path)
	if err == nil || !strings.Contains(err.Error(), "5 bytes, want 32") {
		t.Errorf("err = %v, want a wrong size error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "short" {
		t.Error("a wrong-size key file was overwritten")
	}
	if _, err := NewKeyring(make([]byte, 16)); err == nil {
		t.Error("NewKeyring accepted a 16-byte key")
	}
}

func TestCookies(t *testing.T) {
	exp := t0.Add(time.Hour)
	tests := []struct {
		name    string
		cookies []*http.Cookie
		want    []string
	}{
		{"lb http", LBCookies("v", exp, false), []string{"AWSALB=v; Path=/; Expires=Sun, 01 Jun 2025 13:00:00 GMT"}},
		{"lb https", LBCookies("v", exp, true), []string{
			"AWSALB=v; Path=/; Expires=Sun, 01 Jun 2025 13:00:00 GMT",
			"AWSALBCORS=v; Path=/; Expires=Sun, 01 Jun 2025 13:00:00 GMT; Secure; SameSite=None"}},
		{"tg https", TGCookies("v", exp, true), []string{
			"AWSALBTG=v; Path=/; Expires=Sun, 01 Jun 2025 13:00:00 GMT",
			"AWSALBTGCORS=v; Path=/; Expires=Sun, 01 Jun 2025 13:00:00 GMT; Secure; SameSite=None"}},
		{"app", []*http.Cookie{AppCookie("v", exp)}, []string{"AWSALBAPP-0=v; Path=/; Expires=Sun, 01 Jun 2025 13:00:00 GMT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.cookies) != len(tc.want) {
				t.Fatalf("got %d cookies, want %d", len(tc.cookies), len(tc.want))
			}
			for i, c := range tc.cookies {
				if got := c.String(); got != tc.want[i] {
					t.Errorf("cookie %d = %q, want %q", i, got, tc.want[i])
				}
			}
		})
	}
}

func TestRequestCookie(t *testing.T) {
	tests := []struct{ name, header, want string }{
		{"plain", "AWSALB=a; AWSALBCORS=b", "a"},
		{"cors fallback", "x=1; AWSALBCORS=b", "b"},
		{"none", "x=1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", tc.header)
			if got := RequestCookie(r, CookieLB, CookieLBCORS); got != tc.want {
				t.Errorf("RequestCookie = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	k := testKeyring(f, 1)
	f.Add(k.SealTarget(tk, t0.Add(time.Hour)))
	f.Add(k.SealGroup("blue", t0.Add(time.Hour)))
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		if key, ok := k.OpenTarget(v, t0); ok {
			if got, ok := k.OpenTarget(k.SealTarget(key, t0.Add(time.Hour)), t0); !ok || got != key {
				t.Errorf("reseal of %v failed", key)
			}
		}
		k.OpenGroup(v, t0)
	})
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stickiness.key")
	const n = 8
	keys := make([]*Keyring, n)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	v := keys[0].SealTarget(tk, t0.Add(time.Hour))
	for i, k := range keys {
		if _, ok := k.OpenTarget(v, t0); !ok {
			t.Errorf("process %d ended up with a different key", i)
		}
	}
}
