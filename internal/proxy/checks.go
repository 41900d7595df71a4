package proxy

import (
	"net/http"
	"strings"

	"github.com/sluicelb/sluice/internal/lberr"
)

// ALB's request size limits.
const (
	maxRequestLine = 16 << 10
	maxHeaderLine  = 16 << 10
	maxHeaders     = 64 << 10
	maxXFF         = 30
)

// checkRequest applies ALB's method and size limits before routing.
func checkRequest(r *http.Request) *lberr.Failure {
	if r.Method == http.MethodTrace {
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
	if xffCount(r.Header["X-Forwarded-For"]) > maxXFF {
		return lberr.ErrTooManyXFF
	}
	return nil
}

func xffCount(vs []string) int {
	n := 0
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			continue
		}
		n += strings.Count(v, ",") + 1
	}
	return n
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
	text := http.StatusText(f.Code)
	if text == "" {
		text = f.Reason
	}
	w.WriteHeader(f.Code)
	w.Write([]byte("<html>\r\n<head><title>" + itoa(f.Code) + " " + text + "</title></head>\r\n<body>\r\n<center><h1>" +
		itoa(f.Code) + " " + text + "</h1></center>\r\n</body>\r\n</html>\r\n"))
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// validHeaderName reports whether name uses only [-A-Za-z0-9], the names
// drop_invalid_header_fields keeps.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
