package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"
)

var (
	// ErrNoOCSP means the certificate names no OCSP responder or came
	// without its issuer: there is nothing to staple.
	ErrNoOCSP = errors.New("no OCSP responder or no issuer certificate")
	// ErrRevoked means the OCSP responder says the certificate is revoked.
	ErrRevoked = errors.New("certificate revoked")
)

// maxOCSPResponse bounds an OCSP response body; real ones are 1 to 4 KB.
const maxOCSPResponse = 1 << 20

// StapleOCSP asks the leaf's first OCSP responder about cert and, when the
// signed answer is Good and current at now, sets cert.OCSPStaple to it. It
// returns when to ask again: halfway between the response's ThisUpdate and
// NextUpdate (now+1h without a NextUpdate), but not before now+1m (or
// NextUpdate if sooner), so a responder that serves an old cached response
// is not polled in a loop.
//
// StapleOCSP mutates cert: call it on a fresh copy, never on a
// tls.Certificate that may be serving handshakes, and swap the copy in.
// cert.Leaf must be parsed. Without an issuer in cert.Certificate[1], or
// when the leaf names no responder, it returns ErrNoOCSP.
// A revoked certificate returns an error wrapping ErrRevoked. On any error
// cert.OCSPStaple is left unchanged. If client is nil, http.DefaultClient
// is used; ctx bounds the request.
func StapleOCSP(ctx context.Context, client *http.Client, cert *tls.Certificate, now time.Time) (refresh time.Time, err error) {
	leaf := cert.Leaf
	if leaf == nil {
		return time.Time{}, errors.New("certificate without parsed leaf")
	}
	if len(leaf.OCSPServer) == 0 || len(cert.Certificate) < 2 {
		return time.Time{}, ErrNoOCSP
	}
	issuer, err := x509.ParseCertificate(cert.Certificate[1])
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing the issuer certificate: %w", err)
	}
	req, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("building the OCSP request: %w", err)
	}
	raw, err := postOCSP(ctx, client, leaf.OCSPServer[0], req)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := verifyOCSP(raw, leaf, issuer, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("OCSP response from %s: %w", leaf.OCSPServer[0], err)
	}
	cert.OCSPStaple = raw
	return refreshTime(resp, now), nil
}

// postOCSP sends an OCSP request and returns the raw response body.
func postOCSP(ctx context.Context, client *http.Client, url string, body []byte) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("OCSP request to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	req.Header.Set("Accept", "application/ocsp-response")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("OCSP request: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("OCSP responder %s answered %s", url, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxOCSPResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading the OCSP response from %s: %w", url, err)
	}
	if len(raw) > maxOCSPResponse {
		return nil, fmt.Errorf("OCSP response from %s is larger than 1 MiB", url)
	}
	return raw, nil
}

// verifyOCSP parses raw, checks that issuer (or a responder it delegated to)
// signed it for leaf, and that it says Good and is current at now.
func verifyOCSP(raw []byte, leaf, issuer *x509.Certificate, now time.Time) (*ocsp.Response, error) {
	resp, err := ocsp.ParseResponseForCert(raw, leaf, issuer)
	if err != nil {
		return nil, err
	}
	if d := resp.Certificate; d != nil {
		// The library checks that the issuer signed a delegated responder,
		// not that the issuer allowed it to answer OCSP (RFC 6960 4.2.2.2):
		// without this, any certificate of the same CA could vouch.
		if !slices.Contains(d.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return nil, errors.New("signed by a delegated responder without the OCSP signing extended key usage")
		}
		if now.Before(d.NotBefore) || now.After(d.NotAfter) {
			return nil, errors.New("signed by a delegated responder certificate outside its validity period")
		}
	}
	switch resp.Status {
	case ocsp.Good:
	case ocsp.Revoked:
		return nil, fmt.Errorf("%w at %s (reason %d)", ErrRevoked, resp.RevokedAt.UTC().Format(time.RFC3339), resp.RevocationReason)
	default:
		return nil, fmt.Errorf("status is %s, not good", statusName(resp.Status))
	}
	if now.Before(resp.ThisUpdate) {
		return nil, fmt.Errorf("not valid until %s (this_update); check this machine's clock", resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if !resp.NextUpdate.IsZero() && !now.Before(resp.NextUpdate) {
		return nil, fmt.Errorf("expired at %s (next_update)", resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	return resp, nil
}

func statusName(s int) string {
	switch s {
	case ocsp.Unknown:
		return "unknown"
	case ocsp.ServerFailed:
		return "server failed"
	}
	return fmt.Sprintf("%d", s)
}

// refreshTime is halfway through the response's validity, or an hour from
// now when the responder gave no NextUpdate, and at least a minute away
// unless the response expires sooner.
func refreshTime(resp *ocsp.Response, now time.Time) time.Time {
	if resp.NextUpdate.IsZero() {
		return now.Add(time.Hour)
	}
	t := resp.ThisUpdate.Add(resp.NextUpdate.Sub(resp.ThisUpdate) / 2)
	floor := now.Add(time.Minute)
	if resp.NextUpdate.Before(floor) {
		floor = resp.NextUpdate
	}
	if t.Before(floor) {
		t = floor
	}
	return t
}
