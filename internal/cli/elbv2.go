package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sluicelb/sluice/internal/apiclient"
)

// Exit codes of the verbs that talk to the admin API, so scripts can tell
// failures apart.
const (
	exitOK          = 0 // done
	exitFailed      = 1 // any other error, waiting timed out included
	exitUsage       = 2 // bad flags or arguments; nothing was sent
	exitNotFound    = 3 // 404: no such resource
	exitConflict    = 4 // 409 (in use, exists, file-managed, port taken) or 412 (changed since the ETag)
	exitInvalid     = 5 // 400: the API refused the values
	exitAuth        = 6 // 401/403, or no token found
	exitUnreachable = 7 // no answer from the admin API
)

const exitCodesHelp = `Exit codes: 0 ok; 1 other error; 2 usage; 3 not found (404); 4 conflict, file-managed
or changed since read (409, 412); 5 invalid values (400); 6 token missing or refused (401, 403);
7 cannot reach the admin API.
`

// defaultEndpoint is where "sluice serve" answers admin API requests unless
// told otherwise.
const defaultEndpoint = "http://127.0.0.1:9900"

// apiUsage lists the admin API verbs for "sluice help".
const apiUsage = `Admin API verbs (a running "sluice serve"), named and flagged like "aws elbv2":
  sluice create-load-balancer --name NAME [--idle-timeout D] [--attributes Key=K,Value=V ...]
  sluice describe-load-balancers [--names A,B]
  sluice describe-load-balancer-attributes --name NAME
  sluice modify-load-balancer-attributes --name NAME --attributes Key=K,Value=V ...
  sluice delete-load-balancer --name NAME
  sluice create-listener --load-balancer NAME --protocol HTTP|HTTPS --port N --default-actions ACTIONS
                         [--certificates C1,C2] [--ssl-policy P]
  sluice describe-listeners [--load-balancer NAME | --listener-arns ID,...]
  sluice modify-listener --listener ID [--port N] [--protocol P] [--certificates C1,C2] [--ssl-policy P]
                         [--default-actions ACTIONS]
  sluice delete-listener --listener ID
  sluice create-rule --listener ID --priority N [--name NAME] --conditions CONDITIONS --actions ACTIONS
  sluice describe-rules --listener ID | --rule-arns ID,...
  sluice modify-rule --rule ID [--conditions CONDITIONS] [--actions ACTIONS]
  sluice set-rule-priorities --rule-priorities RuleArn=ID,Priority=N ...
  sluice delete-rule --rule ID
  sluice create-target-group --name NAME --protocol HTTP|HTTPS --port N [health check flags]
  sluice describe-target-groups [--names A,B]
  sluice modify-target-group --name NAME [health check flags]
  sluice delete-target-group --name NAME
  sluice describe-target-group-attributes --target-group NAME
  sluice modify-target-group-attributes --target-group NAME --attributes Key=K,Value=V ...
  sluice register-targets --target-group NAME --targets Id=ADDR,Port=N ...
  sluice deregister-targets --target-group NAME --targets Id=ADDR,Port=N ... [--wait]
  sluice describe-target-health --target-group NAME [--targets ...]
  sluice status [--once] [--interval D]   live health, requests/s, p99 and 5xx/s (reads GET /metrics)
` + certAPIUsage + `
  IDs ("ARNs"): a load balancer, target group or certificate is its name; a listener LB:PORT (web:443);
  a rule LB:PORT:NAME (web:443:chat). The aws spellings --load-balancer-arn, --listener-arn,
  --rule-arn and --target-group-arn are accepted too.
  ACTIONS and CONDITIONS are JSON (API keys), file://FILE.json, or aws shorthand:
    Type=forward,TargetGroup=app   Type=redirect,Protocol=HTTPS,Port=443,StatusCode=HTTP_301
    Type=fixed-response,StatusCode=503,ContentType=text/plain,MessageBody=down
    Field=path-pattern,Values=[/chat/*,/ws/*]   Field=http-header,HttpHeaderName=X-Env,Values=[blue]
  Every verb takes --endpoint URL (default $SLUICE_ENDPOINT, else ` + defaultEndpoint + `),
  --token T (default $SLUICE_TOKEN, else DATA-DIR/admin.token), --data-dir DIR and -o table|json.
  Exit codes: 0 ok; 1 other error; 2 usage; 3 not found (404); 4 conflict, file-managed or changed
  since read (409, 412); 5 invalid values (400); 6 token missing or refused (401, 403); 7 cannot
  reach the admin API.
`

// apiExitError is an error with the exit code it ends the process with.
type apiExitError struct {
	code int
	err  error
}

func (e *apiExitError) Error() string { return e.err.Error() }
func (e *apiExitError) Unwrap() error { return e.err }

// ExitCode is honoured by Main.
func (e *apiExitError) ExitCode() int { return e.code }

// classify gives an admin API error its exit code.
func classify(err error) error {
	var ae *apiclient.Error
	var ue *apiclient.UnreachableError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		code := exitFailed
		switch ae.Status {
		case 400, 422:
			code = exitInvalid
		case 401, 403:
			code = exitAuth
			if strings.Contains(ae.Message, "sluice admin token") {
				break
			}
			err = fmt.Errorf("%w\n  the admin token was refused: run `sluice admin token` as the user that runs `sluice serve`, and pass its output with --token or SLUICE_TOKEN", err)
		case 404:
			code = exitNotFound
		case 409, 412:
			code = exitConflict
		default:
			// Statuses the contract does not name (413 with a
			// ValidationError, say) go by the error code.
			switch ae.Code {
			case "ValidationError":
				code = exitInvalid
			case "NotFound":
				code = exitNotFound
			case "FileManaged", "AlreadyExists", "ResourceInUse", "PortInUse", "Conflict", "PreconditionFailed":
				code = exitConflict
			}
		}
		return &apiExitError{code, err}
	case errors.As(err, &ue):
		return &apiExitError{exitUnreachable, err}
	}
	return err
}

// globalFlags are the flags every admin API verb takes.
type globalFlags struct {
	endpoint string
	token    string
	dataDir  string
	output   string
}

// verbSet is one verb's flags: a flag.FlagSet plus aliases (--listener and
// --listener-arn), flags taking aws-style lists of several arguments, and
// the help text.
type verbSet struct {
	fs       *flag.FlagSet
	name     string
	synopsis string
	summary  string
	// alias maps each alias to its primary flag name.
	alias map[string]string
	// lists are the flags after whose value further arguments not starting
	// with '-' are more values, as aws takes "--targets Id=a Id=b".
	lists map[string]*listFlag
	// positional is the help's name for positional arguments; empty when
	// the verb takes none.
	positional string
	global     globalFlags
	setFlags   map[string]bool
}

func newVerb(name, synopsis, summary string, stderr io.Writer) *verbSet {
	v := &verbSet{
		fs:       newFlagSet(name, stderr),
		name:     name,
		synopsis: synopsis,
		summary:  summary,
		alias:    map[string]string{},
		lists:    map[string]*listFlag{},
	}
	endpoint := os.Getenv("SLUICE_ENDPOINT")
	if endpoint == "" {
		endpoint = defaultEndpoint
	}
	v.fs.StringVar(&v.global.endpoint, "endpoint", endpoint, "admin API `URL` ($SLUICE_ENDPOINT)")
	v.fs.StringVar(&v.global.token, "token", "", "admin API `TOKEN` (default $SLUICE_TOKEN, else the content of DIR/admin.token)")
	v.fs.StringVar(&v.global.dataDir, "data-dir", DefaultDataDir(), "the data folder `DIR` of sluice serve, where admin.token is")
	v.fs.StringVar(&v.global.output, "output", "table", "output `FORMAT`: table, or json (the API's answer, for scripts)")
	v.fs.StringVar(&v.global.output, "o", "table", "same as --output")
	v.fs.Usage = v.usage
	return v
}

var globalNames = map[string]bool{"endpoint": true, "token": true, "data-dir": true, "output": true, "o": true}

// String registers a string flag under names, the first one primary.
func (v *verbSet) String(usage string, names ...string) *string {
	p := new(string)
	for _, n := range names {
		v.fs.StringVar(p, n, "", usage)
		v.alias[n] = names[0]
	}
	return p
}

// Int registers an int flag under names; given tells whether it was set.
func (v *verbSet) Int(usage string, names ...string) *int {
	p := new(int)
	for _, n := range names {
		v.fs.IntVar(p, n, 0, usage)
		v.alias[n] = names[0]
	}
	return p
}

// Bool registers a boolean flag.
func (v *verbSet) Bool(name, usage string) *bool {
	v.alias[name] = name
	return v.fs.Bool(name, false, usage)
}

// List registers a flag that may be repeated, and after whose value the
// following arguments not starting with '-' are more values.
func (v *verbSet) List(usage string, names ...string) *listFlag {
	l := &listFlag{}
	for _, n := range names {
		v.fs.Var(l, n, usage)
		v.alias[n] = names[0]
		v.lists[n] = l
	}
	return l
}

// given reports whether the flag named name (or one of its aliases) was
// given.
func (v *verbSet) given(name string) bool { return v.setFlags[v.alias[name]] }

// usageErr is a usage error of this verb.
func (v *verbSet) usageErr(format string, args ...any) error {
	return usageError{v.name + ": " + fmt.Sprintf(format, args...) + "\n(run \"sluice " + v.name + " -h\" for the flags)"}
}

// require returns a usage error naming the first of names whose flag was
// not given.
func (v *verbSet) require(names ...string) error {
	for _, n := range names {
		if !v.given(n) {
			return v.usageErr("--%s is required", n)
		}
	}
	return nil
}

// parse parses args and returns the positional arguments, which are
// refused unless the verb declared some. Like aws, "--targets Id=a Id=b"
// gives --targets two values.
func (v *verbSet) parse(args []string) ([]string, error) {
	var positional []string
	var cur *listFlag
	for {
		if err := v.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{v.name + ": " + err.Error()}
		}
		left := v.fs.Args()
		if len(left) == 0 {
			break
		}
		n := len(args) - len(left)
		if n > 0 && args[n-1] == "--" {
			positional = append(positional, left...)
			break
		}
		if n > 0 {
			cur = v.listEndingAt(args[:n])
		}
		if cur != nil {
			cur.Set(left[0])
		} else {
			positional = append(positional, left[0])
		}
		args = left[1:]
	}
	v.setFlags = map[string]bool{}
	v.fs.Visit(func(f *flag.Flag) { v.setFlags[v.alias[f.Name]] = true })
	if len(positional) > 0 && v.positional == "" {
		return nil, v.usageErr("unexpected argument %q", positional[0])
	}
	switch v.global.output {
	case "table", "text", "json":
	default:
		return nil, v.usageErr("-o %q: use table or json", v.global.output)
	}
	return positional, nil
}

// listEndingAt returns the list flag whose value is the last of the
// arguments consumed, or nil.
func (v *verbSet) listEndingAt(consumed []string) *listFlag {
	flagName := func(arg string) string {
		if !strings.HasPrefix(arg, "-") {
			return ""
		}
		return strings.TrimLeft(arg, "-")
	}
	last := consumed[len(consumed)-1]
	if name, _, ok := strings.Cut(flagName(last), "="); ok {
		return v.lists[name]
	}
	if len(consumed) >= 2 {
		if name := flagName(consumed[len(consumed)-2]); name != "" && !strings.Contains(name, "=") {
			return v.lists[name]
		}
	}
	return nil
}

// usage prints the verb's help: synopsis, summary, its flags, the global
// flags and the exit codes.
func (v *verbSet) usage() {
	w := v.fs.Output()
	fmt.Fprintf(w, "Usage: sluice %s %s\n\n%s\n\nFlags:\n", v.name, v.synopsis, v.summary)
	v.printFlags(w, func(name string) bool { return !globalNames[name] })
	fmt.Fprint(w, "\nGlobal flags:\n")
	v.printFlags(w, func(name string) bool { return globalNames[name] && name != "o" })
	fmt.Fprint(w, "\n"+exitCodesHelp)
}

// printFlags prints the primary flags keep accepts, each with its aliases.
func (v *verbSet) printFlags(w io.Writer, keep func(string) bool) {
	aliases := map[string][]string{}
	var primaries []string
	v.fs.VisitAll(func(f *flag.Flag) {
		p := v.alias[f.Name]
		if p == "" {
			p = f.Name
		}
		if p != f.Name {
			aliases[p] = append(aliases[p], f.Name)
		} else if keep(f.Name) {
			primaries = append(primaries, f.Name)
		}
	})
	if keep("output") {
		aliases["output"] = []string{"o"}
	}
	for _, name := range primaries {
		f := v.fs.Lookup(name)
		arg, usage := flag.UnquoteUsage(f)
		names := dashes(name)
		for _, a := range aliases[name] {
			names += ", " + dashes(a)
		}
		if _, ok := f.Value.(*listFlag); ok {
			arg = "VALUE ..."
		}
		if arg != "" {
			names += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  %s\n    \t%s\n", names, strings.ReplaceAll(usage, "\n", "\n    \t"))
	}
}

// dashes writes a flag name as typed: -o, --output.
func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// session talks to the API for one verb and prints what it answers.
type session struct {
	c      *apiclient.Client
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	json   bool
}

// session resolves the endpoint and token and returns a session.
func (v *verbSet) session(stdout, stderr io.Writer) (*session, error) {
	token, err := resolveToken(v.global.token, v.global.dataDir)
	if err != nil {
		return nil, err
	}
	return &session{
		c:      apiclient.New(v.global.endpoint, token),
		ctx:    context.Background(),
		stdout: stdout,
		stderr: stderr,
		json:   v.global.output == "json",
	}, nil
}

// resolveToken finds the admin token: the flag, else $SLUICE_TOKEN, else
// the token file sluice serve wrote into its data folder.
func resolveToken(flagToken, dataDir string) (string, error) {
	if flagToken != "" {
		return flagToken, nil
	}
	if t := strings.TrimSpace(os.Getenv("SLUICE_TOKEN")); t != "" {
		return t, nil
	}
	file := filepath.Join(dataDir, "admin.token")
	b, err := os.ReadFile(file)
	if err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		err = errors.New("the file is empty")
	}
	var why string
	switch {
	case errors.Is(err, os.ErrNotExist):
		why = file + " does not exist"
	case errors.Is(err, os.ErrPermission):
		why = file + " is not readable by this user"
	default:
		why = fmt.Sprintf("reading %s: %v", file, err)
	}
	return "", &apiExitError{exitAuth, fmt.Errorf("no admin API token: %s.\n"+
		"  Run `sluice admin token` as the user that runs `sluice serve` and pass its output with --token or\n"+
		"  SLUICE_TOKEN, or point --data-dir at serve's data folder", why)}
}

// call sends one request and returns the raw answer.
func (s *session) call(method, path string, body any) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := s.c.Do(s.ctx, method, path, body, &raw); err != nil {
		return nil, classify(err)
	}
	return raw, nil
}

// show prints raw: indented with -o json, else as the table table makes of
// the decoded object. An empty answer (204) prints nothing with -o json.
func (s *session) show(raw json.RawMessage, table func(w io.Writer, obj map[string]any) error) error {
	if s.json {
		return printJSON(s.stdout, raw)
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return err
	}
	return table(s.stdout, obj)
}

// printJSON writes raw indented; nothing when it is empty.
func printJSON(w io.Writer, raw json.RawMessage) error {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("the admin API's answer is not JSON: %w", err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// decodeObject decodes a JSON object keeping numbers as json.Number; an
// empty answer is an empty object.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	obj := map[string]any{}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return obj, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("the admin API's answer is not the JSON object expected: %w", err)
	}
	return obj, nil
}

// getMany gets each of ids under base and returns them as one list answer
// {"key": [...]}, as the list endpoint would.
func (s *session) getMany(base, key string, ids []string) (json.RawMessage, error) {
	items := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		raw, err := s.call("GET", base+"/"+pathEscape(id), nil)
		if err != nil {
			return nil, err
		}
		items = append(items, raw)
	}
	return json.Marshal(map[string]any{key: items})
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
