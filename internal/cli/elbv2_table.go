package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// column is one column of a table: its heading and how a row's value is
// found in a resource object.
type column struct {
	head string
	get  func(obj map[string]any) string
}

// field is a column showing the value at a dotted path.
func field(head, path string) column {
	return column{head, func(obj map[string]any) string { return text(lookup(obj, path)) }}
}

// lookup finds the value at a dotted path; nil when any step is missing.
func lookup(obj map[string]any, path string) any {
	var v any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// str is the string at key, "" when missing or not a string.
func str(obj map[string]any, key string) string {
	s, _ := lookup(obj, key).(string)
	return s
}

// text formats a JSON value for a cell: lists comma-separated, objects as
// compact JSON, missing or empty values as "-".
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return "-"
		}
		return v
	case json.Number:
		return v.String()
	case bool:
		return fmt.Sprint(v)
	case []any:
		if len(v) == 0 {
			return "-"
		}
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = text(e)
		}
		return strings.Join(parts, ",")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// writeTable prints rows under cols' headings.
func writeTable(w io.Writer, cols []column, rows []map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.head
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = strings.ReplaceAll(c.get(r), "\t", " ")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// listTable prints the objects under key of a list answer.
func listTable(cols []column, key string) func(io.Writer, map[string]any) error {
	return func(w io.Writer, obj map[string]any) error {
		return writeTable(w, cols, objects(obj[key]))
	}
}

// oneTable prints a single-resource answer as a one-row table.
func oneTable(cols []column) func(io.Writer, map[string]any) error {
	return func(w io.Writer, obj map[string]any) error {
		return writeTable(w, cols, []map[string]any{obj})
	}
}

// objects returns the objects of a JSON list, skipping anything else.
func objects(v any) []map[string]any {
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// keyValueTable prints an object's leaves as KEY VALUE rows, dotted keys
// sorted, leaving out skip.
func keyValueTable(skip ...string) func(io.Writer, map[string]any) error {
	return func(w io.Writer, obj map[string]any) error {
		flat := map[string]any{}
		flatten("", obj, flat)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tVALUE")
	keys:
		for _, k := range sortedKeys(flat) {
			for _, s := range skip {
				if k == s || strings.HasPrefix(k, s+".") {
					continue keys
				}
			}
			fmt.Fprintf(tw, "%s\t%s\n", k, text(flat[k]))
		}
		return tw.Flush()
	}
}

// describe prints one object as "key: value" lines, first keys in order,
// then the rest sorted.
func describe(first ...string) func(io.Writer, map[string]any) error {
	return func(w io.Writer, obj map[string]any) error {
		flat := map[string]any{}
		flatten("", obj, flat)
		tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
		done := map[string]bool{}
		for _, k := range first {
			if v, ok := flat[k]; ok {
				fmt.Fprintf(tw, "%s:\t%s\n", k, text(v))
				done[k] = true
			}
		}
		for _, k := range sortedKeys(flat) {
			if !done[k] {
				fmt.Fprintf(tw, "%s:\t%s\n", k, text(flat[k]))
			}
		}
		return tw.Flush()
	}
}

var lbColumns = []column{
	field("NAME", "name"),
	field("LISTENERS", "listeners"),
	field("IDLE TIMEOUT", "idle_timeout"),
	field("DESYNC MITIGATION", "desync_mitigation_mode"),
	field("MANAGED BY", "managed_by"),
}

var listenerColumns = []column{
	field("ID", "id"),
	field("PROTOCOL", "protocol"),
	field("PORT", "port"),
	field("CERTIFICATES", "certificates"),
	field("SSL POLICY", "ssl_policy"),
	{"DEFAULT ACTIONS", func(o map[string]any) string { return actionsText(o["default_actions"]) }},
	field("MANAGED BY", "managed_by"),
}

var ruleColumns = []column{
	field("ID", "id"),
	field("PRIORITY", "priority"),
	{"CONDITIONS", func(o map[string]any) string { return conditionsText(o["conditions"]) }},
	{"ACTIONS", func(o map[string]any) string { return actionsText(o["actions"]) }},
	field("MANAGED BY", "managed_by"),
}

var targetGroupColumns = []column{
	field("NAME", "name"),
	field("PROTOCOL", "protocol"),
	field("PORT", "port"),
	field("VERSION", "protocol_version"),
	{"TARGETS", func(o map[string]any) string {
		if n, ok := o["registered_targets"]; ok {
			return text(n)
		}
		if list, ok := o["targets"].([]any); ok {
			return fmt.Sprint(len(list))
		}
		return "-"
	}},
	{"HEALTH CHECK", func(o map[string]any) string {
		hc, _ := o["health_check"].(map[string]any)
		if hc == nil {
			return "-"
		}
		if hc["enabled"] == false {
			return "disabled"
		}
		return strings.TrimSpace(str(hc, "protocol") + " " + str(hc, "path"))
	}},
	field("LOAD BALANCERS", "load_balancers"),
	field("MANAGED BY", "managed_by"),
}

var targetColumns = []column{
	field("TARGET", "id"),
	field("PORT", "port"),
}

var targetHealthColumns = []column{
	field("TARGET", "target.id"),
	field("PORT", "target.port"),
	field("STATE", "target_health.state"),
	field("REASON", "target_health.reason"),
	{"DESCRIPTION", func(o map[string]any) string {
		d := str(o, "target_health.description")
		if dr, ok := o["draining"].(map[string]any); ok {
			more := drainingText(dr)
			if d == "" {
				return more
			}
			d += " (" + more + ")"
		}
		if d == "" {
			return "-"
		}
		return d
	}},
}

var certificateColumns = []column{
	field("NAME", "name"),
	field("SOURCE", "source"),
	field("STATUS", "status"),
	{"DOMAINS", func(o map[string]any) string {
		if d := text(o["domains"]); d != "-" {
			return d
		}
		return text(o["sans"])
	}},
	{"NOT AFTER", func(o map[string]any) string {
		s := str(o, "not_after")
		if len(s) >= len("2006-01-02T15:04") {
			return strings.Replace(s[:len("2006-01-02T15:04")], "T", " ", 1)
		}
		return text(s)
	}},
	field("IN USE BY", "in_use_by"),
	field("MANAGED BY", "managed_by"),
}

// drainingText is "12s left, 3 open connections".
func drainingText(dr map[string]any) string {
	left := text(dr["seconds_left"])
	conns := text(dr["open_connections"])
	return fmt.Sprintf("%ss left, %s open connections", left, conns)
}

// actionsText summarizes an action list: "forward app", "redirect
// HTTP_301 protocol=HTTPS port=443", "fixed-response 503".
func actionsText(v any) string {
	var parts []string
	for _, a := range objects(v) {
		typ := str(a, "type")
		switch typ {
		case "forward":
			if tg := str(a, "target_group"); tg != "" {
				parts = append(parts, "forward "+tg)
				break
			}
			var groups []string
			for _, g := range objects(lookup(a, "forward.target_groups")) {
				s := str(g, "name")
				if w := lookup(g, "weight"); w != nil {
					s += ":" + text(w)
				}
				groups = append(groups, s)
			}
			parts = append(parts, "forward "+strings.Join(groups, ","))
		case "redirect":
			r, _ := a["redirect"].(map[string]any)
			s := "redirect " + str(r, "status_code")
			for _, k := range []string{"protocol", "host", "port", "path", "query"} {
				if v := str(r, k); v != "" && !strings.HasPrefix(v, "#{") && v != "/#{path}" {
					s += " " + k + "=" + v
				}
			}
			parts = append(parts, s)
		case "fixed-response":
			parts = append(parts, "fixed-response "+str(a, "fixed_response.status_code"))
		default:
			parts = append(parts, typ)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " then ")
}

// conditionsText summarizes conditions: "path-pattern /a/*,/b/*;
// http-header X-Env: blue".
func conditionsText(v any) string {
	var parts []string
	for _, c := range objects(v) {
		f := str(c, "field")
		switch {
		case c["http_header"] != nil:
			parts = append(parts, f+" "+str(c, "http_header.name")+": "+text(lookup(c, "http_header.values")))
		case c["query_string"] != nil:
			var kv []string
			for _, p := range objects(c["query_string"]) {
				kv = append(kv, str(p, "key")+"="+str(p, "value"))
			}
			parts = append(parts, f+" "+strings.Join(kv, ","))
		default:
			parts = append(parts, f+" "+text(c["values"]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}
