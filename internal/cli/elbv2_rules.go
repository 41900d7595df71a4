package cli

import (
	"fmt"
	"io"
	"net/url"
)

const conditionsHelp = "JSON with the API's keys ([{\"field\":\"path-pattern\",\"values\":[\"/chat/*\"]}]), file://FILE.json,\n" +
	"or shorthand, one condition per value: Field=path-pattern,Values=[/chat/*,/ws/*];\n" +
	"Field=host-header,Values=app.example.com; Field=http-header,HttpHeaderName=X-Env,Values=[blue];\n" +
	"Field=query-string,Values=[version=2,beta]; Field=http-request-method,Values=[GET,HEAD];\n" +
	"Field=source-ip,Values=[10.0.0.0/8]"

// ruleFlags are the settings create-rule and modify-rule take.
type ruleFlags struct {
	conditions, actions *listFlag
}

func (f *ruleFlags) register(v *verbSet) {
	f.conditions = v.List("conditions, all of which must match: "+conditionsHelp, "conditions")
	f.actions = v.List("actions: "+actionsHelp, "actions")
}

func (f *ruleFlags) body(v *verbSet) (map[string]any, error) {
	body := map[string]any{}
	if v.given("conditions") {
		conds, err := parseItems(f.conditions.vals, mapCondition)
		if err != nil {
			return nil, v.usageErr("--conditions: %v", err)
		}
		body["conditions"] = conds
	}
	if v.given("actions") {
		actions, err := parseItems(f.actions.vals, mapAction)
		if err != nil {
			return nil, v.usageErr("--actions: %v", err)
		}
		body["actions"] = actions
	}
	return body, nil
}

func createRule(args []string, stdout, stderr io.Writer) error {
	v := newVerb("create-rule", "--listener ID --priority N [--name NAME] --conditions CONDITIONS --actions ACTIONS",
		"Adds a rule to a listener. Its ID is LB:PORT:NAME; without --name the API names it rule-xxxxxxxx.", stderr)
	listener := v.String("the listener's `ID`, LB:PORT (required)", "listener", "listener-arn")
	priority := v.Int("`PRIORITY`, 1–50000, unique in the listener; lowest is evaluated first (required)", "priority")
	name := v.String("the rule's `NAME`, part of its ID", "name")
	var f ruleFlags
	f.register(v)
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("listener", "priority", "conditions", "actions"); err != nil {
		return err
	}
	body, err := f.body(v)
	if err != nil {
		return err
	}
	body["listener"] = *listener
	body["priority"] = *priority
	if *name != "" {
		body["name"] = *name
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/rules", body)
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(ruleColumns))
}

func describeRules(args []string, stdout, stderr io.Writer) error {
	v := newVerb("describe-rules", "--listener ID | --rule-arns ID,...",
		"Lists a listener's rules by priority, or the rules named by ID (LB:PORT:NAME).", stderr)
	listener := v.String("show this listener's rules (its `ID`, LB:PORT)", "listener", "listener-arn")
	ids := v.List("rule IDs (LB:PORT:NAME) to show", "rule-arns")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if v.given("listener") == v.given("rule-arns") {
		return v.usageErr("give either --listener or --rule-arns")
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	var raw []byte
	if v.given("rule-arns") {
		raw, err = s.getMany("/api/v1/rules", "rules", idList(ids))
	} else {
		raw, err = s.call("GET", "/api/v1/rules?"+url.Values{"listener": {*listener}}.Encode(), nil)
	}
	if err != nil {
		return err
	}
	return s.show(raw, listTable(ruleColumns, "rules"))
}

func modifyRule(args []string, stdout, stderr io.Writer) error {
	v := newVerb("modify-rule", "--rule ID [--conditions CONDITIONS] [--actions ACTIONS]",
		"Replaces a rule's conditions, actions or both. Change priorities with set-rule-priorities.", stderr)
	id := v.String("the rule's `ID`, LB:PORT:NAME (required)", "rule", "rule-arn")
	var f ruleFlags
	f.register(v)
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("rule"); err != nil {
		return err
	}
	body, err := f.body(v)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return v.usageErr("nothing to change: give --conditions, --actions or both")
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("PATCH", "/api/v1/rules/"+pathEscape(*id), body)
	if err != nil {
		return err
	}
	return s.show(raw, oneTable(ruleColumns))
}

func deleteRule(args []string, stdout, stderr io.Writer) error {
	v := newVerb("delete-rule", "--rule ID", "Deletes a rule.", stderr)
	id := v.String("the rule's `ID`, LB:PORT:NAME (required)", "rule", "rule-arn")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("rule"); err != nil {
		return err
	}
	return deleteResource(v, stdout, stderr, "/api/v1/rules/"+pathEscape(*id), "rule "+*id)
}

func setRulePriorities(args []string, stdout, stderr io.Writer) error {
	v := newVerb("set-rule-priorities", "--rule-priorities RuleArn=ID,Priority=N ...",
		"Changes the priorities of several rules at once; all change or none does.", stderr)
	prios := v.List("RuleArn=ID,Priority=N (several after one flag, or the flag repeated), or JSON\n"+
		"[{\"RuleArn\":ID,\"Priority\":N}] (required)", "rule-priorities")
	if _, err := v.parse(args); err != nil {
		return err
	}
	if err := v.require("rule-priorities"); err != nil {
		return err
	}
	list, err := parseRulePriorities(prios)
	if err != nil {
		return v.usageErr("--rule-priorities: %v", err)
	}
	s, err := v.session(stdout, stderr)
	if err != nil {
		return err
	}
	raw, err := s.call("POST", "/api/v1/rules/priorities", map[string]any{"rule_priorities": list})
	if err != nil {
		return err
	}
	return s.show(raw, listTable(ruleColumns, "rules"))
}

// parseRulePriorities reads RuleArn=ID,Priority=N items, JSON lists of
// them (aws's or the API's keys), or the API's {"rule_priorities": [...]}.
func parseRulePriorities(l *listFlag) ([]any, error) {
	sts, err := structs(l.words(false))
	if err != nil {
		return nil, err
	}
	var out []any
	for i := 0; i < len(sts); i++ {
		st := sts[i]
		if v, ok := st.take("RulePriorities"); ok {
			list, ok := shList(v)
			if !ok {
				return nil, fmt.Errorf("rule_priorities: expected a list")
			}
			for _, e := range list {
				if s, ok := e.(shStruct); ok {
					sts = append(sts, s)
				}
			}
			continue
		}
		rv, ok := st.take("RuleArn", "Rule")
		if !ok {
			return nil, fmt.Errorf("RuleArn= is missing")
		}
		rule, err := asString("RuleArn", rv)
		if err != nil {
			return nil, err
		}
		pv, ok := st.take("Priority")
		if !ok {
			return nil, fmt.Errorf("RuleArn=%s has no Priority=", rule)
		}
		prio, err := asInt("Priority", pv)
		if err != nil {
			return nil, err
		}
		if err := st.rest("RuleArn", "Priority"); err != nil {
			return nil, err
		}
		out = append(out, map[string]any{"rule": rule, "priority": prio})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no rules given")
	}
	return out, nil
}
