package proxy

import (
	"net/http"

	"github.com/sluicelb/sluice/internal/action"
	"github.com/sluicelb/sluice/internal/lberr"
)

// ALB's request size limits.
const (
	maxRequestLine = 16 << 10
	maxHeaderLine  = 16 << 10
	maxHeaders     = 64 << 10
)

// checkRequest applies ALB's method and size limits before routing.
func checkRequest(r *http.Request) *lberr.Failure {
	if r.Method == http.MethodTrace || r.Method == http.MethodConnect {
		return lberr.ErrMethodNotAllowed
	}
	if len(r.RequestURI) > maxRequestLine {
		return lberr.ErrURITooLong
	}
	total := 0
	for k, vs := range r.Header {
		for _, v := range vs {
			n := len(k) + len(v) + 4
			if n > maxHeaderLine {
				return lberr.ErrHeaderTooLarge
			}
			total += n
		}
	}
	if total > maxHeaders {
		return lberr.ErrHeaderTooLarge
	}
	if action.XFFCount(r.Header["X-Forwarded-For"]) > action.MaxXFF {
		return lberr.ErrTooManyXFF
	}
	return nil
}

// writeFailure answers a request with the load balancer's own error page.
func writeFailure(w http.ResponseWriter, f *lberr.Failure) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", "text/html")
	h.Set("Server", "sluice")
	if f.Code == http.StatusBadRequest {
		h.Set("Connection", "close")
	}
	w.WriteHeader(f.Code)
	w.Write(action.ErrorPage(f))
}
