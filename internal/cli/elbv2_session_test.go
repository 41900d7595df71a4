package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenDiscovery(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		io.WriteString(w, `{"target_groups":[]}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin.token"), []byte("filetok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		gotAuth = ""
		code := Main(append([]string{"describe-target-groups", "--endpoint", srv.URL}, args...), &out, &errb)
		return code, errb.String()
	}

	t.Setenv("SLUICE_TOKEN", "")
	if code, errb := run("--data-dir", dir); code != 0 || gotAuth != "Bearer filetok" {
		t.Errorf("from the data dir: exit %d, Authorization %q; %s", code, gotAuth, errb)
	}
	t.Setenv("SLUICE_TOKEN", "envtok")
	if code, _ := run("--data-dir", dir); code != 0 || gotAuth != "Bearer envtok" {
		t.Errorf("from SLUICE_TOKEN: exit %d, Authorization %q", code, gotAuth)
	}
	if code, _ := run("--data-dir", dir, "--token", "flagtok"); code != 0 || gotAuth != "Bearer flagtok" {
		t.Errorf("from --token: exit %d, Authorization %q", code, gotAuth)
	}
	t.Setenv("SLUICE_TOKEN", "")
	empty := t.TempDir()
	code, errb := run("--data-dir", empty)
	if code != exitAuth {
		t.Errorf("without a token: exit %d, want %d", code, exitAuth)
	}
	for _, w := range []string{filepath.Join(empty, "admin.token") + " does not exist", "sluice admin token", "--token", "SLUICE_TOKEN"} {
		if !strings.Contains(errb, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errb)
		}
	}
	if gotAuth != "" {
		t.Errorf("a request went out without a token")
	}

	t.Setenv("SLUICE_ENDPOINT", srv.URL)
	var out, errb2 bytes.Buffer
	if code := Main([]string{"describe-target-groups", "--token", "x"}, &out, &errb2); code != 0 || gotAuth != "Bearer x" {
		t.Errorf("SLUICE_ENDPOINT: exit %d: %s", code, errb2.String())
	}
}

func TestDeregisterWait(t *testing.T) {
	draining := `{"target_health_descriptions":[
		{"target":{"id":"127.0.0.1","port":8081},"target_health":{"state":"draining","reason":"Target.DeregistrationInProgress"},"draining":{"seconds_left":12,"open_connections":3}},
		{"target":{"id":"127.0.0.2","port":8082},"target_health":{"state":"healthy"}}]}`
	drained := `{"target_health_descriptions":[{"target":{"id":"127.0.0.2","port":8082},"target_health":{"state":"healthy"}}]}`
	args := []string{"deregister-targets", "--target-group", "app", "--targets", "Id=127.0.0.1,Port=8081", "--wait", "--poll-interval", "10ms"}
	dereg := exchange{req: "POST /api/v1/target_groups/app/targets/deregister",
		body: `{"targets":[{"id":"127.0.0.1","port":8081}]}`, resp: `{"targets":[{"id":"127.0.0.2","port":8082}]}`}

	t.Run("drains", func(t *testing.T) {
		srv := newFakeAPI(t, dereg,
			exchange{req: "GET /api/v1/target_groups/app/health", resp: draining},
			exchange{req: "GET /api/v1/target_groups/app/health", resp: draining},
			exchange{req: "GET /api/v1/target_groups/app/health", resp: drained})
		code, out, errb := runCLI(t, srv, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb)
		}
		if n := strings.Count(errb, "draining 127.0.0.1:8081: 12s left, 3 open connections\n"); n != 2 {
			t.Errorf("%d progress lines, want 2:\n%s", n, errb)
		}
		if !strings.Contains(errb, "drained after") || strings.Contains(errb, "127.0.0.2") {
			t.Errorf("stderr:\n%s", errb)
		}
		if !strings.Contains(out, "127.0.0.2") {
			t.Errorf("stdout lacks the remaining targets:\n%s", out)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		srv := newFakeAPI(t, dereg,
			exchange{req: "GET /api/v1/target_groups/app/health", resp: draining, repeat: true})
		code, _, errb := runCLI(t, srv, append(args, "--wait-timeout", "50ms")...)
		if code != exitFailed {
			t.Errorf("exit %d, want %d", code, exitFailed)
		}
		if !strings.Contains(errb, "gave up waiting after 50ms; still draining: 127.0.0.1:8081") {
			t.Errorf("stderr:\n%s", errb)
		}
	})
}
