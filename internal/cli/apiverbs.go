package cli

import "io"

// command runs one CLI command with its arguments after the command name.
type command func(args []string, stdout, stderr io.Writer) error

// apiCommands are the aws-elbv2-style verbs that talk to a running sluice's
// admin API, by name.
var apiCommands = map[string]command{
	"create-load-balancer":              createLoadBalancer,
	"describe-load-balancers":           describeLoadBalancers,
	"describe-load-balancer-attributes": describeLoadBalancerAttributes,
	"modify-load-balancer-attributes":   modifyLoadBalancerAttributes,
	"delete-load-balancer":              deleteLoadBalancer,
	"create-listener":                   createListener,
	"describe-listeners":                describeListeners,
	"modify-listener":                   modifyListener,
	"delete-listener":                   deleteListener,
	"create-rule":                       createRule,
	"describe-rules":                    describeRules,
	"modify-rule":                       modifyRule,
	"set-rule-priorities":               setRulePriorities,
	"delete-rule":                       deleteRule,
	"create-target-group":               createTargetGroup,
	"describe-target-groups":            describeTargetGroups,
	"modify-target-group":               modifyTargetGroup,
	"delete-target-group":               deleteTargetGroup,
	"describe-target-group-attributes":  describeTargetGroupAttributes,
	"modify-target-group-attributes":    modifyTargetGroupAttributes,
	"register-targets":                  registerTargets,
	"deregister-targets":                deregisterTargets,
	"describe-target-health":            describeTargetHealth,
	"status":                            statusCommand,
}

// certAPICommands are the "sluice cert" subcommands that talk to the admin
// API.
var certAPICommands = map[string]command{
	"import":   certImport,
	"list":     certList,
	"describe": certDescribe,
	"renew":    certRenew,
	"delete":   certDelete,
}
