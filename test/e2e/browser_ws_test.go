package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// cdpPage drives one page of a headless Chromium over the Chrome DevTools
// Protocol.
type cdpPage struct {
	t    *testing.T
	conn *websocket.Conn
	id   int
}

// startChromium opens url in a headless Chromium with remote debugging on
// a free port of 127.0.0.1 and returns the page. The browser and its child
// processes are killed at test end.
func startChromium(t *testing.T, chromium, dir, url string) *cdpPage {
	t.Helper()
	port := freePort(t)
	var out syncBuffer
	// The flags of TestDemoChatInBrowser, without --dump-dom: the browser
	// stays up and is driven through the DevTools protocol.
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "chromium"), "--ignore-certificate-errors",
		"--remote-debugging-address=127.0.0.1", fmt.Sprintf("--remote-debugging-port=%d", port), "--remote-allow-origins=*",
		url)
	cmd.Stdout, cmd.Stderr = &out, &out
	// A process group of its own, so that its renderer and other child
	// processes go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("chromium output:\n%.4000s", out.String())
		}
	})

	// The page's DevTools WebSocket, once the page is listed.
	var wsURL string
	waitFor(t, 20*time.Second, "chromium's DevTools to list the page", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/json/list", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var targets []struct {
			Type, URL            string
			WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
		}
		if json.NewDecoder(resp.Body).Decode(&targets) != nil {
			return false
		}
		for _, tg := range targets {
			if tg.Type == "page" && strings.HasPrefix(tg.URL, url) && tg.WebSocketDebuggerURL != "" {
				wsURL = tg.WebSocketDebuggerURL
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("connecting to chromium's DevTools at %s: %v", wsURL, err)
	}
	conn.SetReadLimit(4 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return &cdpPage{t: t, conn: conn}
}

// eval evaluates a JavaScript expression in the page, which must yield a
// JSON text, and decodes that into out.
func (p *cdpPage) eval(expr string, out any) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.id++
	req, _ := json.Marshal(map[string]any{"id": p.id, "method": "Runtime.evaluate",
		"params": map[string]any{"expression": expr, "returnByValue": true}})
	if err := p.conn.Write(ctx, websocket.MessageText, req); err != nil {
		p.t.Fatalf("DevTools: %v", err)
	}
	for {
		_, msg, err := p.conn.Read(ctx)
		if err != nil {
			p.t.Fatalf("DevTools: %v", err)
		}
		var resp struct {
			ID     int `json:"id"`
			Result struct {
				Result struct {
					Type  string          `json:"type"`
					Value json.RawMessage `json:"value"`
				} `json:"result"`
				ExceptionDetails json.RawMessage `json:"exceptionDetails"`
			} `json:"result"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(msg, &resp); err != nil {
			p.t.Fatalf("DevTools answered %q: %v", msg, err)
		}
		if resp.ID != p.id {
			continue // an event
		}
		if resp.Error != nil || resp.Result.ExceptionDetails != nil || resp.Result.Result.Type != "string" {
			p.t.Fatalf("evaluating %q: %s", expr, msg)
		}
		var text string
		if err := json.Unmarshal(resp.Result.Result.Value, &text); err != nil {
			p.t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(text), out); err != nil {
			p.t.Fatalf("evaluating %q: %v: %s", expr, err, text)
		}
		return
	}
}

// chatPage is what the demo's chat page shows, and its socket.
type chatPage struct {
	Status string   `json:"status"`
	Open   bool     `json:"open"`   // the page's socket is open
	Mark   string   `json:"mark"`   // the mark the test put on the socket object
	Items  []string `json:"items"`  // the message list
	Opened int      `json:"opened"` // sockets the page created
}

// chatState reads the page, loaded or not. The chat's script keeps its socket in the
// top-level "let ws", which page-level evaluation sees; window.sluiceOpened
// counts the WebSockets the page created since the test started counting.
const chatState = `JSON.stringify({
  status: (document.getElementById("status") || {}).textContent || "",
  open: typeof ws !== "undefined" && ws !== null && ws.readyState === WebSocket.OPEN,
  mark: (typeof ws !== "undefined" && ws !== null && ws.sluiceTestMark) || "",
  items: Array.from(document.querySelectorAll("#messages li"), li => li.textContent),
  opened: window.sluiceOpened || 0,
})`

// TestBrowserWebSocketAcrossEdits holds the demo chat's WebSocket open in
// headless Chromium while 30 changes go through: 15 edits of the demo's
// config file (a rule added and removed, each waited for until it serves)
// and 15 target registrations and deregistrations through the CLI. Then a
// message typed in the page goes out and comes back over the very socket
// opened before the changes: the page never reconnected.
func TestBrowserWebSocketAcrossEdits(t *testing.T) {
	chromium := chromiumPath(t)
	bin := sluiceBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	httpPort, httpsPort, adminPort := freePort(t), freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	demo := exec.CommandContext(ctx, bin, "demo", "--data-dir", data,
		"--http-port", fmt.Sprint(httpPort), "--https-port", fmt.Sprint(httpsPort), "--admin-addr", fmt.Sprintf("127.0.0.1:%d", adminPort))
	demo.Env = cliEnv()
	demo.Stdout, demo.Stderr = &logs, &logs
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		demo.Wait()
		if t.Failed() {
			t.Logf("demo output:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)
	c := client()
	waitFor(t, 20*time.Second, "the demo to serve", func() bool {
		resp, err := c.Get(base + "/chat")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	cfgFile := filepath.Join(data, "demo", "sluice.yaml")
	waitFor(t, 10*time.Second, "the demo's config file", func() bool {
		_, err := os.Stat(cfgFile)
		return err == nil
	})
	admin := adminCLI{t: t, endpoint: fmt.Sprintf("http://127.0.0.1:%d", adminPort), dataDir: data}

	// The page connects; the test marks its socket object and counts the
	// sockets the page creates from now on.
	page := startChromium(t, chromium, dir, base+"/chat")
	var st chatPage
	waitFor(t, 20*time.Second, "the chat page to connect", func() bool {
		page.eval(chatState, &st)
		return st.Open && strings.HasPrefix(st.Status, "connected to backend-")
	})
	page.eval(`(() => {
  ws.sluiceTestMark = "opened before the edits";
  window.sluiceOpened = 0;
  const Native = window.WebSocket;
  window.WebSocket = function(...args) { window.sluiceOpened++; return new Native(...args); };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  return JSON.stringify("ok");
})()`, new(string))
	chatBackend := regexp.MustCompile(`connected to (backend-\d+)`).FindStringSubmatch(st.Status)[1]

	original, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "        certificates: [localhost]\n"
	if strings.Count(string(original), anchor) != 1 {
		t.Fatalf("the demo's config has no single %q line to add a rule after:\n%s", anchor, original)
	}
	withRule := func(n int) string {
		return strings.Replace(string(original), anchor, anchor+fmt.Sprintf(`        rules:
          - priority: 1
            conditions: [{ field: path-pattern, values: ["/edit"] }]
            actions: [{ type: fixed-response, fixed_response: { status_code: "200", message_body: "edit-%d" } }]
`, n), 1)
	}
	// writeConfig replaces the file in one step, as editors do, so that
	// the watcher never reads half a file.
	writeConfig := func(text string) {
		tmp := filepath.Join(filepath.Dir(cfgFile), ".edit.tmp")
		writeFile(t, tmp, text)
		if err := os.Rename(tmp, cfgFile); err != nil {
			t.Fatal(err)
		}
	}
	// edit answers GET /edit: the rule's body, or "" with a backend's
	// answer.
	edit := func() (string, bool) {
		resp, err := c.Get(base + "/edit")
		if err != nil {
			return "", false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("X-Backend") != "" {
			return "", true
		}
		return string(body), resp.StatusCode == 200
	}

	extra := newBackend(t, "extra", nil)
	extraTarget := fmt.Sprintf("Id=127.0.0.1,Port=%d", extra.port)
	begin := time.Now()
	for i := range 30 {
		n := i / 2
		switch {
		case i%2 == 0 && n%2 == 0:
			writeConfig(withRule(n))
			want := fmt.Sprintf("edit-%d", n)
			waitFor(t, 10*time.Second, fmt.Sprintf("edit %d: the rule answering %s", i, want), func() bool {
				got, ok := edit()
				return ok && got == want
			})
		case i%2 == 0:
			writeConfig(string(original))
			waitFor(t, 10*time.Second, fmt.Sprintf("edit %d: the rule gone", i), func() bool {
				got, ok := edit()
				return ok && got == ""
			})
		case n%2 == 0:
			admin.mustCLI("register-targets", "--target-group", "demo", "--targets", extraTarget)
			admin.waitState("demo", "healthy", extra.port)
		default:
			admin.mustCLI("deregister-targets", "--target-group", "demo", "--targets", extraTarget)
			admin.waitState("demo", "draining", extra.port)
		}
		page.eval(chatState, &st)
		if !st.Open || st.Mark == "" || st.Opened != 0 {
			t.Fatalf("after edit %d the page's socket is not the one opened before (open %v, mark %q, sockets opened since %d); status %q",
				i, st.Open, st.Mark, st.Opened, st.Status)
		}
	}
	t.Logf("30 edits in %s", time.Since(begin).Round(time.Millisecond))

	// A message typed in the page goes through the socket opened before
	// the edits and comes back on it.
	const msg = "hello after 30 edits"
	page.eval(`(() => {
  document.getElementById("input").value = "`+msg+`";
  document.getElementById("form").requestSubmit();
  return JSON.stringify("sent");
})()`, new(string))
	want := chatBackend + ": " + msg
	waitFor(t, 10*time.Second, "the message back in the page", func() bool {
		page.eval(chatState, &st)
		for _, it := range st.Items {
			if it == want {
				return true
			}
		}
		return false
	})
	welcomes, disconnects := 0, 0
	for _, it := range st.Items {
		if strings.Contains(it, ": welcome (") {
			welcomes++
		}
		if strings.HasPrefix(it, "disconnected") {
			disconnects++
		}
	}
	if !st.Open || st.Mark != "opened before the edits" || st.Opened != 0 || welcomes != 1 || disconnects != 0 {
		t.Fatalf("the page reconnected: open %v, mark %q, sockets opened since %d, %d welcomes, %d disconnects; messages %q",
			st.Open, st.Mark, st.Opened, welcomes, disconnects, st.Items)
	}
}
