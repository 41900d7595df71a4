package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/sluicelb/sluice/internal/target"
)

// UserAgent is the User-Agent header every probe sends, as ALB does.
const UserAgent = "ELB-HealthChecker/2.0"

// maxBody is how much of a response body a probe reads before giving up on
// it; the body only matters to gRPC, whose status may be in the trailers.
const maxBody = 4 << 10

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// result is the outcome of one probe. reason and desc are set when !ok.
type result struct {
	ok     bool
	reason target.Reason
	desc   string
}

func mismatch(code int) result {
	return result{reason: target.ReasonResponseCodeMismatch,
		desc: fmt.Sprintf("Health checks failed with these codes: [%d]", code)}
}

func failed(format string, a ...any) result {
	return result{reason: target.ReasonFailedHealthChecks,
		desc: "Health checks failed: " + fmt.Sprintf(format, a...)}
}

var timedOut = result{reason: target.ReasonTimeout, desc: "Request timed out"}

// probe runs one health check of t with s (defaults applied) and classifies
// the outcome. ctx is the checker's; the probe adds s.Timeout to it. If ctx
// itself ends, the result is meaningless and the caller drops it.
func probe(ctx context.Context, dial dialFunc, t *target.Target, s Settings) result {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()

	port := s.Port
	if port == 0 {
		port = t.Key.Port
	}
	hostport := net.JoinHostPort(t.Key.ID, strconv.Itoa(port))
	tr, scheme, err := newTransport(dial, s)
	if err != nil {
		return failed("%v", err)
	}
	// One connection per probe: nothing is left open afterwards.
	defer tr.CloseIdleConnections()

	req, err := newRequest(ctx, scheme, hostport, s)
	if err != nil {
		return failed("%v", err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return failure(ctx, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody+1))
	if err != nil && ctx.Err() != nil {
		return timedOut
	}
	if !s.GRPC {
		if !s.Matcher.Match(resp.StatusCode) {
			return mismatch(resp.StatusCode)
		}
		return result{ok: true}
	}
	code, err := grpcStatus(resp, err == nil && n <= maxBody)
	if err != nil {
		return failed("%v", err)
	}
	if !s.Matcher.Match(code) {
		return mismatch(code)
	}
	return result{ok: true}
}

// newTransport returns a transport that opens one connection for one
// request: HTTP/1.1 for plain checks, HTTP/2 (h2c or h2) for gRPC.
func newTransport(dial dialFunc, s Settings) (*http.Transport, string, error) {
	tr := &http.Transport{
		DialContext:        dial,
		DisableKeepAlives:  true,
		DisableCompression: true,
		Protocols:          new(http.Protocols),
	}
	var scheme string
	switch s.Protocol {
	case "HTTP":
		scheme = "http"
	case "HTTPS":
		scheme = "https"
		// As on ALB, target certificates are not verified.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	default:
		return nil, "", fmt.Errorf("unsupported protocol %q", s.Protocol)
	}
	switch {
	case !s.GRPC:
		tr.Protocols.SetHTTP1(true)
	case scheme == "https":
		tr.Protocols.SetHTTP2(true)
	default:
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	return tr, scheme, nil
}

func newRequest(ctx context.Context, scheme, hostport string, s Settings) (*http.Request, error) {
	path := s.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	method, body := http.MethodGet, io.Reader(nil)
	if s.GRPC {
		method, body = http.MethodPost, strings.NewReader(grpcEmptyFrame)
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+hostport+path, body)
	if err != nil {
		return nil, err
	}
	req.Host = hostport
	req.Header.Set("User-Agent", UserAgent)
	if s.GRPC {
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
	}
	return req, nil
}

// failure classifies a transport error: the probe's deadline is a timeout,
// anything else (refused, reset, TLS, malformed response) a failed check.
func failure(ctx context.Context, err error) result {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return timedOut
	}
	return failed("%s", errText(err))
}

// errText strips the operation and addresses off a network error, leaving
// what went wrong ("connection refused"), which stays the same from one
// probe to the next.
func errText(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) && sys.Err != nil {
		err = sys.Err
	}
	return err.Error()
}
