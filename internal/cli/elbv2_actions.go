package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// parseItems parses --conditions or --actions values: JSON with the API's
// keys (an object or a list of objects, passed on as written), file://PATH
// holding JSON, or aws shorthand turned into the API's keys by shorthand.
func parseItems(vals []string, shorthand func(shStruct) (map[string]any, error)) ([]any, error) {
	var out []any
	for _, raw := range vals {
		w, _, err := readFileArg(strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		w = strings.TrimSpace(w)
		if strings.HasPrefix(w, "{") || strings.HasPrefix(w, "[") {
			v, err := decodeJSON(w)
			if err != nil {
				return nil, err
			}
			if list, ok := v.([]any); ok {
				out = append(out, list...)
			} else {
				out = append(out, v)
			}
			continue
		}
		st, err := parseShorthand(w)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", w, err)
		}
		item, err := shorthand(st)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", w, err)
		}
		out = append(out, item)
	}
	return out, nil
}

// conditionConfigs are aws's per-field sub-structures, whose keys are taken
// as if written at the top.
var conditionConfigs = []string{"HostHeaderConfig", "PathPatternConfig", "HttpHeaderConfig",
	"QueryStringConfig", "HttpRequestMethodConfig", "SourceIpConfig"}

// mapCondition turns shorthand like "Field=path-pattern,Values=[/a/*,/b/*]"
// into the API's condition object.
func mapCondition(st shStruct) (map[string]any, error) {
	fv, ok := st.take("Field")
	if !ok {
		return nil, fmt.Errorf("Field= is missing (host-header, path-pattern, http-header, http-request-method, query-string or source-ip)")
	}
	field, err := asString("Field", fv)
	if err != nil {
		return nil, err
	}
	for _, name := range conditionConfigs {
		if v, ok := st.take(name); ok {
			sub, ok := v.(shStruct)
			if !ok {
				return nil, fmt.Errorf("%s: expected {Values=[...]}", name)
			}
			st = append(st, sub...)
		}
	}
	cond := map[string]any{"field": field}
	vv, hasValues := st.take("Values")
	if !hasValues {
		return nil, fmt.Errorf("Values= is missing")
	}
	switch field {
	case "http-header":
		nv, ok := st.take("HttpHeaderName", "Name")
		if !ok {
			return nil, fmt.Errorf("http-header needs HttpHeaderName=NAME")
		}
		name, err := asString("HttpHeaderName", nv)
		if err != nil {
			return nil, err
		}
		values, err := asStrings("Values", vv)
		if err != nil {
			return nil, err
		}
		cond["http_header"] = map[string]any{"name": name, "values": values}
	case "query-string":
		pairs, err := queryStringValues(vv)
		if err != nil {
			return nil, err
		}
		cond["query_string"] = pairs
	default:
		values, err := asStrings("Values", vv)
		if err != nil {
			return nil, err
		}
		cond["values"] = values
	}
	if err := st.rest("Field", "Values", "HttpHeaderName"); err != nil {
		return nil, err
	}
	return cond, nil
}

// queryStringValues takes "key=value" or "value" strings, or aws's
// {Key=k,Value=v} structures.
func queryStringValues(v any) ([]any, error) {
	list, ok := shList(v)
	if !ok {
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		pair := map[string]any{}
		switch e := e.(type) {
		case string:
			key, value, ok := strings.Cut(e, "=")
			if !ok {
				key, value = "", e
			}
			if key != "" {
				pair["key"] = key
			}
			pair["value"] = value
		case shStruct:
			if kv, ok := e.take("Key"); ok {
				key, err := asString("Key", kv)
				if err != nil {
					return nil, err
				}
				pair["key"] = key
			}
			vv, ok := e.take("Value")
			if !ok {
				return nil, fmt.Errorf("query-string values need Value=")
			}
			value, err := asString("Value", vv)
			if err != nil {
				return nil, err
			}
			pair["value"] = value
			if err := e.rest("Key", "Value"); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("query-string Values: expected [key=value,...] or [{Key=k,Value=v},...]")
		}
		out = append(out, pair)
	}
	return out, nil
}

// mapAction turns shorthand like "Type=forward,TargetGroup=app" into the
// API's action object.
func mapAction(st shStruct) (map[string]any, error) {
	tv, ok := st.take("Type")
	if !ok {
		return nil, fmt.Errorf("Type= is missing (forward, redirect or fixed-response)")
	}
	typ, err := asString("Type", tv)
	if err != nil {
		return nil, err
	}
	act := map[string]any{"type": typ}
	if ov, ok := st.take("Order"); ok {
		n, err := asInt("Order", ov)
		if err != nil {
			return nil, err
		}
		act["order"] = n
	}
	var known []string
	switch typ {
	case "forward":
		known = []string{"TargetGroup", "TargetGroupArn", "ForwardConfig"}
		if v, ok := st.take("TargetGroup", "TargetGroupArn", "TargetGroupName"); ok {
			name, err := asString("TargetGroup", v)
			if err != nil {
				return nil, err
			}
			act["target_group"] = name
		}
		if v, ok := st.take("ForwardConfig", "Forward"); ok {
			fc, err := mapForwardConfig(v)
			if err != nil {
				return nil, err
			}
			act["forward"] = fc
		}
		if act["target_group"] == nil && act["forward"] == nil {
			return nil, fmt.Errorf("forward needs TargetGroup=NAME or ForwardConfig={TargetGroups=[{TargetGroupArn=NAME,Weight=N},...]}")
		}
	case "redirect":
		known = []string{"Protocol", "Host", "Port", "Path", "Query", "StatusCode", "RedirectConfig"}
		cfg, err := mapFlat(&st, "RedirectConfig", map[string]string{
			"Protocol": "protocol", "Host": "host", "Port": "port", "Path": "path",
			"Query": "query", "StatusCode": "status_code"})
		if err != nil {
			return nil, err
		}
		if code, ok := cfg["status_code"].(string); ok && (code == "301" || code == "302") {
			cfg["status_code"] = "HTTP_" + code
		}
		act["redirect"] = cfg
	case "fixed-response":
		known = []string{"StatusCode", "ContentType", "MessageBody", "FixedResponseConfig"}
		cfg, err := mapFlat(&st, "FixedResponseConfig", map[string]string{
			"StatusCode": "status_code", "ContentType": "content_type", "MessageBody": "message_body"})
		if err != nil {
			return nil, err
		}
		act["fixed_response"] = cfg
	default:
		return nil, fmt.Errorf("Type=%s: shorthand knows forward, redirect and fixed-response; write other actions as JSON", typ)
	}
	if err := st.rest(append([]string{"Type", "Order"}, known...)...); err != nil {
		return nil, err
	}
	return act, nil
}

// mapFlat takes the keys of names (aws name → API key) from st, and from
// its sub-structure named sub, as strings.
func mapFlat(st *shStruct, sub string, names map[string]string) (map[string]any, error) {
	if v, ok := st.take(sub); ok {
		s, ok := v.(shStruct)
		if !ok {
			return nil, fmt.Errorf("%s: expected {Key=Value,...}", sub)
		}
		*st = append(*st, s...)
	}
	cfg := map[string]any{}
	for _, aws := range sortedKeys(names) {
		if v, ok := st.take(aws); ok {
			s, err := asString(aws, v)
			if err != nil {
				return nil, err
			}
			cfg[names[aws]] = s
		}
	}
	return cfg, nil
}

// mapForwardConfig takes aws's
// {TargetGroups=[{TargetGroupArn=a,Weight=1},...],TargetGroupStickinessConfig={Enabled=true,DurationSeconds=3600}}.
func mapForwardConfig(v any) (map[string]any, error) {
	st, ok := v.(shStruct)
	if !ok {
		return nil, fmt.Errorf("ForwardConfig: expected {TargetGroups=[...]}")
	}
	fc := map[string]any{}
	tv, ok := st.take("TargetGroups")
	if !ok {
		return nil, fmt.Errorf("ForwardConfig: TargetGroups= is missing")
	}
	list, ok := shList(tv)
	if !ok {
		list = []any{tv}
	}
	var groups []any
	for _, e := range list {
		switch e := e.(type) {
		case string:
			groups = append(groups, map[string]any{"name": e})
		case shStruct:
			nv, ok := e.take("TargetGroupArn", "TargetGroup", "Name")
			if !ok {
				return nil, fmt.Errorf("ForwardConfig: each target group needs TargetGroupArn=NAME")
			}
			name, err := asString("TargetGroupArn", nv)
			if err != nil {
				return nil, err
			}
			g := map[string]any{"name": name}
			if wv, ok := e.take("Weight"); ok {
				w, err := asInt("Weight", wv)
				if err != nil {
					return nil, err
				}
				g["weight"] = w
			}
			if err := e.rest("TargetGroupArn", "Weight"); err != nil {
				return nil, err
			}
			groups = append(groups, g)
		default:
			return nil, fmt.Errorf("ForwardConfig: TargetGroups=[{TargetGroupArn=NAME,Weight=N},...]")
		}
	}
	fc["target_groups"] = groups
	if sv, ok := st.take("TargetGroupStickinessConfig", "Stickiness"); ok {
		ss, ok := sv.(shStruct)
		if !ok {
			return nil, fmt.Errorf("TargetGroupStickinessConfig: expected {Enabled=true,DurationSeconds=N}")
		}
		stick := map[string]any{}
		if ev, ok := ss.take("Enabled"); ok {
			b, err := asBool("Enabled", ev)
			if err != nil {
				return nil, err
			}
			stick["enabled"] = b
		}
		if dv, ok := ss.take("DurationSeconds"); ok {
			s, err := asString("DurationSeconds", dv)
			if err != nil {
				return nil, err
			}
			if stick["duration"], err = secondsValue("DurationSeconds", s); err != nil {
				return nil, err
			}
		}
		if err := ss.rest("Enabled", "DurationSeconds"); err != nil {
			return nil, err
		}
		fc["stickiness"] = stick
	}
	if err := st.rest("TargetGroups", "TargetGroupStickinessConfig"); err != nil {
		return nil, err
	}
	return fc, nil
}

// mapTarget turns "Id=ADDR,Port=N" (or JSON {"id","port"}) into the API's
// target.
func mapTarget(st shStruct) (map[string]any, error) {
	iv, ok := st.take("Id")
	if !ok {
		return nil, fmt.Errorf("Id= is missing")
	}
	id, err := asString("Id", iv)
	if err != nil {
		return nil, err
	}
	t := map[string]any{"id": id}
	if pv, ok := st.take("Port"); ok {
		p, err := asInt("Port", pv)
		if err != nil {
			return nil, err
		}
		t["port"] = p
	}
	if err := st.rest("Id", "Port"); err != nil {
		return nil, err
	}
	return t, nil
}

// parseTargets reads targets given as "Id=a,Port=1", "a:1", "a", or JSON.
func parseTargets(l *listFlag) ([]any, error) {
	var out []any
	for _, w := range l.words(false) {
		if isPlainTarget(w) {
			for _, part := range strings.Split(w, ",") {
				t, err := hostPortTarget(part)
				if err != nil {
					return nil, err
				}
				out = append(out, t)
			}
			continue
		}
		sts, err := structs([]string{w})
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			t, err := mapTarget(st)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", w, err)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// isPlainTarget tells "127.0.0.1:8081" and "[::1]:80" from shorthand, JSON
// and file:// values.
func isPlainTarget(w string) bool {
	if strings.Contains(w, "=") || strings.HasPrefix(w, "{") || strings.HasPrefix(w, "file://") {
		return false
	}
	if rest, ok := strings.CutPrefix(w, "["); ok {
		rest = strings.TrimSpace(rest)
		return !strings.HasPrefix(rest, "{") && !strings.HasPrefix(rest, "]")
	}
	return true
}

// hostPortTarget reads "127.0.0.1:8081", "[::1]:8081", "::1" or "app.internal".
func hostPortTarget(w string) (map[string]any, error) {
	host, port := strings.TrimSpace(w), ""
	if host == "" {
		return nil, fmt.Errorf("empty target")
	}
	if strings.HasPrefix(host, "[") {
		end := strings.Index(host, "]")
		if end < 0 {
			return nil, fmt.Errorf("%q: missing ']'", w)
		}
		host, port = host[1:end], host[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return nil, fmt.Errorf("%q: expected [ADDRESS]:PORT", w)
		}
		port = strings.TrimPrefix(port, ":")
	} else if strings.Count(host, ":") == 1 {
		host, port, _ = strings.Cut(host, ":")
	}
	t := map[string]any{"id": host}
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%q: the port must be 1–65535", w)
		}
		t["port"] = p
	}
	return t, nil
}
