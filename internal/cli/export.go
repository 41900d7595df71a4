package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// exportAnswer is GET /api/v1/export.
type exportAnswer struct {
	Config string `json:"config"`
	Files  []struct {
		Path    string `json:"path"`
		Mode    uint32 `json:"mode"`
		Content string `json:"content"`
	} `json:"files"`
}

// exportCommand runs "sluice export": the running state, file and API
// resources together, as one config file that serve -c reads back.
func exportCommand(args []string, stdout, stderr io.Writer) error {
	v := newVerb("export", "[-f FILE]",
		"Writes the whole running state — what the config file declares and what was made through the\n"+
			"admin API — as one config file. Imported certificates are written beside it as PEM files\n"+
			"(certs/NAME.crt, certs/NAME.key with mode 0600), so -f is needed when there are any.", stderr)
	file := v.String("write the config to `FILE` instead of standard output", "f", "file")
	if _, err := v.parse(args); err != nil {
		return err
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("GET", "/api/v1/export", nil)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(stdout, raw)
	}
	var ans exportAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return fmt.Errorf("export: unexpected answer from the admin API: %w", err)
	}
	if *file == "" {
		if len(ans.Files) > 0 {
			return v.usageErr("the state holds imported certificates, written as files beside the config: give -f FILE")
		}
		_, err := io.WriteString(stdout, ans.Config)
		return err
	}
	dir := filepath.Dir(*file)
	for _, f := range ans.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("export: refusing to write %q outside %s", f.Path, dir)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.Content), os.FileMode(f.Mode)&0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", p)
	}
	if err := os.WriteFile(*file, []byte(ans.Config), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s; check it with: sluice validate -c %s\n", *file, *file)
	return nil
}
