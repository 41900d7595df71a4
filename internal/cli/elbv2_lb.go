package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
)

const lbAttributesHelp = "attributes, each Key=K,Value=V (several after one flag, or the flag repeated), or JSON\n" +
	"[{\"Key\":K,\"Value\":V}]; aws keys: idle_timeout.timeout_seconds, client_keep_alive.seconds,\n" +
	"routing.http.xff_header_processing.mode, routing.http.desync_mitigation_mode, routing.http2.enabled,\n" +
	"routing.http.drop_invalid_header_fields.enabled, routing.http.preserve_host_header.enabled,\n" +
	"routing.http.xff_client_port.enabled, routing.http.x_amzn_tls_version_and_cipher_suite.enabled;\n" +
	"sluice's config keys (idle_timeout=30s, http2_enabled=false, ...) work too"

// lbAttributeBody reads --attributes into the load balancer keys they set.
func lbAttributeBody(v *verbSet, attrs *listFlag) (map[string]any, error) {
	if len(attrs.vals) == 0 {
		return map[string]any{}, nil
	}
	body, err := mapAttributes(lbAttrKeys, attrs.words(false))
	if err != nil {
		return nil, v.usageErr("--attributes: %v", err)
	}
	return body, nil
}

func createLoadBalancer(args []string, stdout, stderr io.Writer) error {
	v := newVerb("create-load-balancer", "--name NAME [--idle-timeout D] [--attributes Key=K,Value=V ...]",
		"Creates a load balancer without listeners; add them with create-listener.", stderr)
	name := v.String("the load balancer's `NAME` (required)", "name")
	idle := v.String("idle timeout, a `DURATION` like 60s, or seconds", "idle-timeout")
	attrs := v.List(lbAttributesHelp, "attributes")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name"); err != nil {
		return err
	}
	body, err := lbAttributeBody(v, attrs)
	if err != nil {
		return err
	}
	if v.given("idle-timeout") {
		d, err := durationValue("--idle-timeout", *idle)
		if err != nil {
			return v.usageErr("%v", err)
		}
		body["idle_timeout"] = d
	}
	body["name"] = *name
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/load_balancers", body)
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(lbColumns))
}

func describeLoadBalancers(args []string, stdout, stderr io.Writer) error {
	v := newVerb("describe-load-balancers", "[--names A,B]",
		"Lists the load balancers, or those named.", stderr)
	ns := v.List("names of the load balancers to show (comma- or space-separated); default all", "names", "load-balancer-arns")
	if _, err := v.parse(args); err != nil {
		return err
	}
	return describeNamed(v, ns, "load_balancers", lbColumns, stdout, stderr)
}

// describeNamed lists the resources of the collection key (also its path
// under /api/v1), or only those named in ns.
func describeNamed(v *verbSet, ns *listFlag, key string, cols []column, stdout, stderr io.Writer) error {
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	var raw []byte
	if ids := idList(ns); len(ids) > 0 {
		raw, err = s.getMany("/api/v1/"+key, key, ids)
	} else {
		raw, err = s.call("GET", "/api/v1/"+key, nil)
	}
	if err != nil {
		return err
	}
	return s.show(raw, listTable(cols, key))
}

// lbIdentity are the keys of a load balancer that are not attributes.
var lbIdentity = []string{"id", "name", "listeners", "managed_by"}

func describeLoadBalancerAttributes(args []string, stdout, stderr io.Writer) error {
	v := newVerb("describe-load-balancer-attributes", "--name NAME",
		"Shows a load balancer's attributes, by their sluice config keys.", stderr)
	name := v.String("the load balancer's `NAME` (required)", "name", "load-balancer-arn")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name"); err != nil {
		return err
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("GET", "/api/v1/load_balancers/"+pathEscape(*name), nil)
	if err != nil {
		return err
	}
	return s.show(raw, keyValueTable(lbIdentity...))
}

func modifyLoadBalancerAttributes(args []string, stdout, stderr io.Writer) error {
	v := newVerb("modify-load-balancer-attributes", "--name NAME --attributes Key=K,Value=V ...",
		"Changes a load balancer's attributes (a merge patch: attributes not named keep their values).", stderr)
	name := v.String("the load balancer's `NAME` (required)", "name", "load-balancer-arn")
	attrs := v.List(lbAttributesHelp+" (required)", "attributes")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name", "attributes"); err != nil {
		return err
	}
	body, err := lbAttributeBody(v, attrs)
	if err != nil {
		return err
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("PATCH", "/api/v1/load_balancers/"+pathEscape(*name), body)
	if err != nil {
		return err
	}
	return s.show(raw, keyValueTable(lbIdentity...))
}

func deleteLoadBalancer(args []string, stdout, stderr io.Writer) error {
	v := newVerb("delete-load-balancer", "--name NAME",
		"Deletes a load balancer with its listeners and their rules.", stderr)
	name := v.String("the load balancer's `NAME` (required)", "name", "load-balancer-arn")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("name"); err != nil {
		return err
	}
	return deleteResource(v, stdout, stderr, "/api/v1/load_balancers/"+pathEscape(*name), "load balancer "+*name)
}

// deleteResource sends DELETE to path and says what went.
func deleteResource(v *verbSet, stdout, stderr io.Writer, path, what string) error {
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("DELETE", path, nil)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(stdout, raw)
	}
	_, err = fmt.Fprintf(stdout, "deleted %s\n", what)
	return err
}

const actionsHelp = "JSON with the API's keys ([{\"type\":\"forward\",\"target_group\":\"app\"}]), file://FILE.json, or\n" +
	"shorthand, one action per value: Type=forward,TargetGroup=NAME;\n" +
	"Type=forward,ForwardConfig={TargetGroups=[{TargetGroupArn=a,Weight=9},{TargetGroupArn=b,Weight=1}]};\n" +
	"Type=redirect,Protocol=HTTPS,Port=443,StatusCode=HTTP_301;\n" +
	"Type=fixed-response,StatusCode=503,ContentType=text/plain,MessageBody=down"

const certificatesHelp = "certificate names, the first the default one: a,b or aws's CertificateArn=a CertificateArn=b"

// parseCertificates reads "a,b", "CertificateArn=a CertificateArn=b" or
// JSON ["a"] / [{"CertificateArn":"a"}].
func parseCertificates(l *listFlag) ([]string, error) {
	var out []string
	for _, w := range l.words(true) {
		if !strings.HasPrefix(w, "[") && !strings.HasPrefix(w, "{") {
			if k, val, ok := strings.Cut(w, "="); ok {
				if normKey(k) != "certificatearn" {
					return nil, fmt.Errorf("%q: expected NAME or CertificateArn=NAME", w)
				}
				w = val
			}
			out = append(out, w)
			continue
		}
		j, err := decodeJSON(w)
		if err != nil {
			return nil, err
		}
		list, ok := j.([]any)
		if !ok {
			list = []any{j}
		}
		for _, e := range list {
			switch e := e.(type) {
			case string:
				out = append(out, e)
			case map[string]any:
				var name string
				for k, val := range e {
					if s, ok := val.(string); ok && (normKey(k) == "certificatearn" || normKey(k) == "name") {
						name = s
					}
				}
				if name == "" {
					return nil, fmt.Errorf("%s: expected {\"CertificateArn\": NAME}", w)
				}
				out = append(out, name)
			default:
				return nil, fmt.Errorf("%s: expected certificate names", w)
			}
		}
	}
	return out, nil
}

// listenerFlags are the settings create-listener and modify-listener take.
type listenerFlags struct {
	protocol, sslPolicy, address *string
	port                         *int
	certificates, actions        *listFlag
}

func (f *listenerFlags) register(v *verbSet) {
	f.protocol = v.String("`PROTOCOL`: HTTP or HTTPS", "protocol")
	f.port = v.Int("the `PORT` to listen on, 1–65535", "port")
	f.address = v.String("local `ADDRESS` to bind; default every address", "address")
	f.certificates = v.List(certificatesHelp+" (HTTPS)", "certificates")
	f.sslPolicy = v.String("security `POLICY`, like ELBSecurityPolicy-TLS13-1-2-2021-06 (HTTPS)", "ssl-policy")
	f.actions = v.List("default actions: "+actionsHelp, "default-actions")
}

// body returns the listener keys given on the command line.
func (f *listenerFlags) body(v *verbSet) (map[string]any, error) {
	body := map[string]any{}
	if v.given("protocol") {
		body["protocol"] = strings.ToUpper(*f.protocol)
	}
	if v.given("port") {
		body["port"] = *f.port
	}
	if v.given("address") {
		body["address"] = *f.address
	}
	if v.given("certificates") {
		certs, err := parseCertificates(f.certificates)
		if err != nil {
			return nil, v.usageErr("--certificates: %v", err)
		}
		body["certificates"] = certs
	}
	if v.given("ssl-policy") {
		body["ssl_policy"] = *f.sslPolicy
	}
	if v.given("default-actions") {
		actions, err := parseItems(f.actions.vals, mapAction)
		if err != nil {
			return nil, v.usageErr("--default-actions: %v", err)
		}
		body["default_actions"] = actions
	}
	return body, nil
}

func createListener(args []string, stdout, stderr io.Writer) error {
	v := newVerb("create-listener",
		"--load-balancer NAME --protocol HTTP|HTTPS --port N --default-actions ACTIONS [--certificates C1,C2] [--ssl-policy P]",
		"Adds a listener to a load balancer. Its ID is LB:PORT (web:443).", stderr)
	lb := v.String("the load balancer's `NAME` (required)", "load-balancer", "load-balancer-arn")
	var f listenerFlags
	f.register(v)
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("load-balancer", "default-actions"); err != nil {
		return err
	}
	body, err := f.body(v)
	if err != nil {
		return err
	}
	body["load_balancer"] = *lb
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/listeners", body)
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(listenerColumns))
}

func describeListeners(args []string, stdout, stderr io.Writer) error {
	v := newVerb("describe-listeners", "[--load-balancer NAME | --listener-arns ID,...]",
		"Lists listeners: all, a load balancer's, or those named by ID (LB:PORT).", stderr)
	lb := v.String("show this load balancer's listeners (its `NAME`)", "load-balancer", "load-balancer-arn")
	ids := v.List("listener IDs (LB:PORT) to show", "listener-arns")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if v.given("load-balancer") && v.given("listener-arns") {
		return v.usageErr("give --load-balancer or --listener-arns, not both")
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	var raw []byte
	switch {
	case v.given("listener-arns"):
		raw, err = s.getMany("/api/v1/listeners", "listeners", idList(ids))
	case v.given("load-balancer"):
		raw, err = s.call("GET", "/api/v1/listeners?"+url.Values{"load_balancer": {*lb}}.Encode(), nil)
	default:
		raw, err = s.call("GET", "/api/v1/listeners", nil)
	}
	if err != nil {
		return err
	}
	return s.show(raw, listTable(listenerColumns, "listeners"))
}

func modifyListener(args []string, stdout, stderr io.Writer) error {
	v := newVerb("modify-listener",
		"--listener ID [--port N] [--protocol P] [--certificates C1,C2] [--ssl-policy P] [--default-actions ACTIONS]",
		"Changes a listener; settings not given keep their values. A new --port changes its ID.", stderr)
	id := v.String("the listener's `ID`, LB:PORT (required)", "listener", "listener-arn")
	var f listenerFlags
	f.register(v)
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("listener"); err != nil {
		return err
	}
	body, err := f.body(v)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return v.usageErr("nothing to change: give --port, --protocol, --certificates, --ssl-policy or --default-actions")
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("PATCH", "/api/v1/listeners/"+pathEscape(*id), body)
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(listenerColumns))
}

func deleteListener(args []string, stdout, stderr io.Writer) error {
	v := newVerb("delete-listener", "--listener ID",
		"Deletes a listener and its rules.", stderr)
	id := v.String("the listener's `ID`, LB:PORT (required)", "listener", "listener-arn")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("listener"); err != nil {
		return err
	}
	return deleteResource(v, stdout, stderr, "/api/v1/listeners/"+pathEscape(*id), "listener "+*id)
}
