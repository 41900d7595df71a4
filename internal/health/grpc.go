package health

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// grpcEmptyFrame is a gRPC length-prefixed message: uncompressed, length 0.
const grpcEmptyFrame = "\x00\x00\x00\x00\x00"

// grpcStatus returns the gRPC status code of resp. The status is in the
// trailers when the body was read to its end (sawEOF), or in the headers
// of a trailers-only response. A response without grpc-status that is not
// HTTP 200 gets the code the gRPC spec maps its HTTP status to.
func grpcStatus(resp *http.Response, sawEOF bool) (int, error) {
	v := ""
	if sawEOF {
		v = resp.Trailer.Get("Grpc-Status")
	}
	if v == "" {
		v = resp.Header.Get("Grpc-Status")
	}
	if v == "" {
		if resp.StatusCode != http.StatusOK {
			return grpcCodeForHTTP(resp.StatusCode), nil
		}
		return 0, errors.New("response has no grpc-status")
	}
	code, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || code < 0 {
		return 0, fmt.Errorf("bad grpc-status %q", v)
	}
	return code, nil
}

// grpcCodeForHTTP maps an HTTP status to a gRPC code as in gRPC's
// http-grpc-status-mapping.md.
func grpcCodeForHTTP(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 13 // INTERNAL
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	case http.StatusNotFound:
		return 12 // UNIMPLEMENTED
	case http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 14 // UNAVAILABLE
	default:
		return 2 // UNKNOWN
	}
}
