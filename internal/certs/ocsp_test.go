package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// responder answers an OCSP request for the test CA: an HTTP status and a
// body.
type responder func(t *testing.T, ca *minted, req *ocsp.Request) (int, []byte)

// signed answers with a response made from tmpl (its serial set from the
// request), signed by signer for ca.
func signed(tmpl ocsp.Response, signer func(ca *minted) *minted) responder {
	return func(t *testing.T, ca *minted, req *ocsp.Request) (int, []byte) {
		s := ca
		if signer != nil {
			s = signer(ca)
		}
		tmpl.SerialNumber = req.SerialNumber
		if s.x != ca.x {
			tmpl.Certificate = s.x
		}
		body, err := ocsp.CreateResponse(ca.x, s.x, tmpl, s.key)
		if err != nil {
			t.Error(err)
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, body
	}
}

// ocspServer is an OCSP responder on 127.0.0.1 for ca's certificates.
func ocspServer(t *testing.T, ca *minted, respond responder) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/ocsp-request" || err != nil {
			t.Errorf("bad OCSP request: %s, content-type %q, %v", r.Method, r.Header.Get("Content-Type"), err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		code, resp := respond(t, ca, req)
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.WriteHeader(code)
		w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// servedStaple runs a real TLS handshake over net.Pipe, the client verifying
// cert against roots at checkNow, and returns the OCSP response the client
// received.
func servedStaple(t *testing.T, cert *tls.Certificate, roots *x509.CertPool) []byte {
	t.Helper()
	at := func() time.Time { return checkNow }
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{*cert}, Time: at})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	cl := tls.Client(cc, &tls.Config{ServerName: "ocsp.example.com", RootCAs: roots, Time: at})
	if err := cl.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	return cl.ConnectionState().OCSPResponse
}

func TestStapleOCSP(t *testing.T) {
	ca := mint(t, certSpec{cn: "OCSP Test CA", ca: true})
	delegate := mint(t, certSpec{cn: "OCSP Responder", parent: ca, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
	notDelegate := mint(t, certSpec{cn: "other.example.com", dns: []string{"other.example.com"}, parent: ca})
	stranger := mint(t, certSpec{cn: "OCSP Test CA"}) // same name, another key
	roots := x509.NewCertPool()
	roots.AddCert(ca.x)

	hour := time.Hour
	good := ocsp.Response{Status: ocsp.Good, ThisUpdate: checkNow.Add(-hour), NextUpdate: checkNow.Add(47 * hour)}
	with := func(f func(*ocsp.Response)) ocsp.Response { r := good; f(&r); return r }
	revokedAt := checkNow.Add(-24 * hour)
	fixed := func(code int, body []byte) responder {
		return func(*testing.T, *minted, *ocsp.Request) (int, []byte) { return code, body }
	}

	tests := []struct {
		name        string
		respond     responder
		wantRefresh time.Time // zero: an error is expected
		wantErr     string
		wantIs      error
	}{
		{name: "good", respond: signed(good, nil), wantRefresh: checkNow.Add(23 * hour)},
		{name: "good without next update", respond: signed(with(func(r *ocsp.Response) { r.NextUpdate = time.Time{} }), nil),
			wantRefresh: checkNow.Add(hour)},
		{name: "good, past its midpoint", respond: signed(with(func(r *ocsp.Response) { r.ThisUpdate = checkNow.Add(-40 * hour); r.NextUpdate = checkNow.Add(8 * hour) }), nil),
			wantRefresh: checkNow.Add(time.Minute)},
		{name: "good, from a delegated responder", respond: signed(good, func(*minted) *minted { return delegate }), wantRefresh: checkNow.Add(23 * hour)},
		{name: "revoked", respond: signed(with(func(r *ocsp.Response) {
			r.Status, r.RevokedAt, r.RevocationReason = ocsp.Revoked, revokedAt, ocsp.KeyCompromise
		}), nil), wantIs: ErrRevoked, wantErr: "certificate revoked at 2030-05-31T12:00:00Z (reason 1)"},
		{name: "unknown", respond: signed(with(func(r *ocsp.Response) { r.Status = ocsp.Unknown }), nil), wantErr: "status is unknown, not good"},
		{name: "responder 500", respond: fixed(http.StatusInternalServerError, nil), wantErr: "answered 500 Internal Server Error"},
		{name: "garbage body", respond: fixed(http.StatusOK, []byte("not an OCSP response")), wantErr: "OCSP response from"},
		{name: "body over 1 MiB", respond: fixed(http.StatusOK, bytes.Repeat([]byte{0}, maxOCSPResponse+1)), wantErr: "larger than 1 MiB"},
		{name: "signed by a wrong key", respond: signed(good, func(*minted) *minted { return &minted{x: ca.x, key: stranger.key} }),
			wantErr: "bad OCSP signature"},
		{name: "responder certificate not from the CA", respond: signed(good, func(*minted) *minted { return stranger }),
			wantErr: "bad OCSP signature"},
		{name: "delegate without OCSP signing", respond: signed(good, func(*minted) *minted { return notDelegate }),
			wantErr: "without the OCSP signing extended key usage"},
		{name: "expired response", respond: signed(with(func(r *ocsp.Response) { r.ThisUpdate = checkNow.Add(-48 * hour); r.NextUpdate = checkNow.Add(-hour) }), nil),
			wantErr: "expired at 2030-06-01T11:00:00Z"},
		{name: "response from the future", respond: signed(with(func(r *ocsp.Response) { r.ThisUpdate = checkNow.Add(hour) }), nil),
			wantErr: "not valid until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := ocspServer(t, ca, tt.respond)
			leaf := mint(t, certSpec{cn: "ocsp.example.com", dns: []string{"ocsp.example.com"}, parent: ca, ocsp: []string{url}})
			cert := &tls.Certificate{Certificate: [][]byte{leaf.der, ca.der}, PrivateKey: leaf.key, Leaf: leaf.x, OCSPStaple: []byte("old")}
			refresh, err := StapleOCSP(context.Background(), nil, cert, checkNow)
			if tt.wantRefresh.IsZero() {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("err = %v, want one wrapping %v", err, tt.wantIs)
				}
				if !refresh.IsZero() {
					t.Errorf("refresh = %v on error, want zero", refresh)
				}
				if string(cert.OCSPStaple) != "old" {
					t.Error("OCSPStaple changed on error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !refresh.Equal(tt.wantRefresh) {
				t.Errorf("refresh = %v, want %v", refresh, tt.wantRefresh)
			}
			if _, err := ocsp.ParseResponseForCert(cert.OCSPStaple, leaf.x, ca.x); err != nil {
				t.Fatalf("staple does not parse: %v", err)
			}
			if got := servedStaple(t, cert, roots); !bytes.Equal(got, cert.OCSPStaple) {
				t.Errorf("handshake carried OCSP response %x, want the staple", got)
			}
		})
	}
}

func TestStapleOCSPNothingToDo(t *testing.T) {
	ca := mint(t, certSpec{cn: "OCSP Test CA", ca: true})
	noURL := mint(t, certSpec{cn: "a.example.com", dns: []string{"a.example.com"}, parent: ca})
	withURL := mint(t, certSpec{cn: "b.example.com", dns: []string{"b.example.com"}, parent: ca, ocsp: []string{"http://127.0.0.1:1/"}})
	tests := []struct {
		name string
		cert *tls.Certificate
	}{
		{"no OCSP URL", &tls.Certificate{Certificate: [][]byte{noURL.der, ca.der}, Leaf: noURL.x}},
		{"no issuer certificate", &tls.Certificate{Certificate: [][]byte{withURL.der}, Leaf: withURL.x}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refresh, err := StapleOCSP(context.Background(), nil, tt.cert, checkNow)
			if !errors.Is(err, ErrNoOCSP) || !refresh.IsZero() {
				t.Errorf("StapleOCSP = %v, %v; want zero, ErrNoOCSP", refresh, err)
			}
			if tt.cert.OCSPStaple != nil {
				t.Error("OCSPStaple set")
			}
		})
	}
}

func TestStapleOCSPHonorsContext(t *testing.T) {
	ca := mint(t, certSpec{cn: "OCSP Test CA", ca: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	// The responder cancels the request once it has it, and never answers.
	url := ocspServer(t, ca, func(*testing.T, *minted, *ocsp.Request) (int, []byte) {
		cancel()
		<-release
		return http.StatusOK, nil
	})
	leaf := mint(t, certSpec{cn: "c.example.com", dns: []string{"c.example.com"}, parent: ca, ocsp: []string{url}})
	cert := &tls.Certificate{Certificate: [][]byte{leaf.der, ca.der}, Leaf: leaf.x}
	if _, err := StapleOCSP(ctx, &http.Client{}, cert, checkNow); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
