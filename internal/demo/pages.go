package demo

import (
	"bytes"
	"embed"
	"fmt"
	"hash/fnv"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"unicode"
)

//go:embed assets/*.html
var assets embed.FS

var pages = template.Must(template.ParseFS(assets, "assets/*.html"))

// Content-Security-Policy values: the pages load nothing from elsewhere.
const (
	indexCSP = "default-src 'none'; style-src 'unsafe-inline'"
	// connect-src lists ws: and wss: as well as 'self' because some browsers
	// do not count same-origin WebSockets as 'self'.
	chatCSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self' ws: wss:"
)

// field is one line of what the load balancer forwarded.
type field struct{ Label, Value string }

// pageData is what the HTML templates render.
type pageData struct {
	Name   string
	Addr   string
	Hue    uint32 // colour of the banner, fixed per name so backends look different
	Fields []field
}

// forwarded lists, in display order, what the load balancer passed on.
// Missing values are "(none)".
func forwarded(r *http.Request) []field {
	var cookies []string
	for _, c := range r.Cookies() {
		cookies = append(cookies, c.Name)
	}
	fs := []field{
		{"Host", r.Host},
		{"X-Forwarded-For", r.Header.Get("X-Forwarded-For")},
		{"X-Forwarded-Proto", r.Header.Get("X-Forwarded-Proto")},
		{"X-Forwarded-Port", r.Header.Get("X-Forwarded-Port")},
		{"X-Amzn-Trace-Id", r.Header.Get("X-Amzn-Trace-Id")},
		{"Protocol", r.Proto},
		{"Cookies", strings.Join(cookies, ", ")},
		{"Remote-Addr", r.RemoteAddr},
	}
	for i := range fs {
		if fs[i].Value == "" {
			fs[i].Value = "(none)"
		}
	}
	return fs
}

// wantsHTML reports whether the client accepts HTML; browsers do, curl does not.
func wantsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") {
			return true
		}
	}
	return false
}

// serveIndex shows which backend answered and what the load balancer forwarded.
func (b *Backend) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	fs := forwarded(r)
	if !wantsHTML(r) {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "hello from %s\n", b.Name)
		for _, f := range fs {
			fmt.Fprintf(&buf, "%s: %s\n", f.Label, f.Value)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(buf.Bytes())
		return
	}
	w.Header().Set("Content-Security-Policy", indexCSP)
	b.render(w, "index.html", pageData{Name: b.Name, Addr: b.Addr, Hue: hue(b.Name), Fields: fs})
}

// serveChatPage serves the chat client; the socket it opens may land on
// another backend, which the page shows.
func (b *Backend) serveChatPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", chatCSP)
	b.render(w, "chat.html", pageData{Name: b.Name, Addr: b.Addr, Hue: hue(b.Name)})
}

// render executes a template into a buffer first so that a template error
// becomes a clean 500 instead of half a page.
func (b *Backend) render(w http.ResponseWriter, name string, data pageData) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "rendering page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// hue picks a banner colour (0–359) from the backend name. Names ending in a
// number, like "backend-1", step around the colour wheel by the golden angle
// so neighbours look clearly different; other names are hashed.
func hue(name string) uint32 {
	digits := strings.TrimRightFunc(name, unicode.IsDigit)
	if n, err := strconv.ParseUint(name[len(digits):], 10, 32); err == nil {
		return uint32((n*137 + 200) % 360)
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return h.Sum32() % 360
}
