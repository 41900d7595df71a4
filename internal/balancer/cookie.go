package balancer

import (
	"net/http"
	"time"
)

// Stickiness cookie names, as ALB spells them. The CORS variants carry the
// same value with SameSite=None; Secure so that browsers also send it on
// cross-site requests; they are issued on HTTPS listeners only, since a
// browser drops a Secure cookie set over plain HTTP.
const (
	// CookieLB pins a client to a target (lb_cookie stickiness).
	CookieLB     = "AWSALB"
	CookieLBCORS = "AWSALBCORS"
	// CookieApp pins a client to a target after the target set the
	// application cookie named in the group's app_cookie stickiness.
	CookieApp = "AWSALBAPP-0"
	// CookieTG pins a client to a target group of a weighted forward.
	CookieTG     = "AWSALBTG"
	CookieTGCORS = "AWSALBTGCORS"
)

// NewCookie returns a stickiness cookie for Set-Cookie: Path=/ and Expires.
func NewCookie(name, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", Expires: expires}
}

// NewCORSCookie is NewCookie with SameSite=None and Secure.
func NewCORSCookie(name, value string, expires time.Time) *http.Cookie {
	c := NewCookie(name, value, expires)
	c.SameSite = http.SameSiteNoneMode
	c.Secure = true
	return c
}

// LBCookies returns the cookies of lb_cookie stickiness: AWSALB, and on an
// HTTPS listener also AWSALBCORS.
func LBCookies(value string, expires time.Time, https bool) []*http.Cookie {
	return pair(CookieLB, CookieLBCORS, value, expires, https)
}

// TGCookies returns the cookies of target group stickiness: AWSALBTG, and on
// an HTTPS listener also AWSALBTGCORS.
func TGCookies(value string, expires time.Time, https bool) []*http.Cookie {
	return pair(CookieTG, CookieTGCORS, value, expires, https)
}

// AppCookie returns the AWSALBAPP-0 cookie of app_cookie stickiness.
func AppCookie(value string, expires time.Time) *http.Cookie {
	return NewCookie(CookieApp, value, expires)
}

func pair(name, corsName, value string, expires time.Time, https bool) []*http.Cookie {
	if !https {
		return []*http.Cookie{NewCookie(name, value, expires)}
	}
	return []*http.Cookie{NewCookie(name, value, expires), NewCORSCookie(corsName, value, expires)}
}

// RequestCookie returns the value of cookie name in r, or of corsName (which
// may be empty) if the request lacks name, as a browser does on a cross-site
// request for a cookie without SameSite=None. It returns "" if neither is
// present.
func RequestCookie(r *http.Request, name, corsName string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	if corsName != "" {
		if c, err := r.Cookie(corsName); err == nil {
			return c.Value
		}
	}
	return ""
}
