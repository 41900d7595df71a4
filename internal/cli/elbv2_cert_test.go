package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCertVerbs(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"cert.pem": "CERT PEM\n", "key.pem": "KEY PEM\n", "chain.pem": "CHAIN PEM\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certJSON := `{"name":"site","source":"imported","managed_by":"api","status":"ISSUED","sans":["app.example.com"],
		"not_after":"2027-01-02T03:04:05Z","in_use_by":["web:443"],"subject":"CN=app.example.com"}`
	importBody := `{"name":"site","certificate":"CERT PEM\n","private_key":"KEY PEM\n","certificate_chain":"CHAIN PEM\n"}`
	importArgs := []string{"cert", "import", "--name", "site", "--certificate", "fileb://" + filepath.Join(dir, "cert.pem"),
		"--private-key", filepath.Join(dir, "key.pem"), "--certificate-chain", "file://" + filepath.Join(dir, "chain.pem")}
	tests := []struct {
		name    string
		args    []string
		script  []exchange
		wantOut []string
	}{
		{
			name:    "import",
			args:    importArgs,
			script:  []exchange{{req: "POST /api/v1/certificates", body: importBody, status: 201, resp: certJSON}},
			wantOut: []string{"site", "imported", "ISSUED", "app.example.com", "2027-01-02 03:04", "web:443"},
		},
		{
			name: "re-import over an existing name",
			args: importArgs,
			script: []exchange{
				{req: "POST /api/v1/certificates", body: importBody, status: 409,
					resp: `{"error":{"code":"AlreadyExists","message":"certificate \"site\" already exists"}}`},
				{req: "PUT /api/v1/certificates/site", body: importBody, resp: certJSON},
			},
		},
		{
			name:    "list",
			args:    []string{"cert", "list"},
			script:  []exchange{{req: "GET /api/v1/certificates", resp: `{"certificates":[` + certJSON + `]}`}},
			wantOut: []string{"NAME", "site"},
		},
		{
			name:    "describe by argument",
			args:    []string{"cert", "describe", "site"},
			script:  []exchange{{req: "GET /api/v1/certificates/site", resp: certJSON}},
			wantOut: []string{"name:", "subject:", "CN=app.example.com"},
		},
		{
			name:    "renew by flag",
			args:    []string{"cert", "renew", "--name", "site"},
			script:  []exchange{{req: "POST /api/v1/certificates/site/renew", status: 202, resp: `{"status":"renewal started"}`}},
			wantOut: []string{"site: renewal started"},
		},
		{
			name:    "delete",
			args:    []string{"cert", "delete", "site"},
			script:  []exchange{{req: "DELETE /api/v1/certificates/site", status: 204}},
			wantOut: []string{"deleted certificate site"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeAPI(t, tt.script...)
			code, out, errb := runCLI(t, srv, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errb)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
