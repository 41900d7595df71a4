package config

import "crypto/tls"

// SSLPolicy is the part of an AWS security policy the config knows: its name
// and the TLS versions it allows. The cipher suites belong to the TLS code.
type SSLPolicy struct {
	Name       string
	MinVersion uint16 // a crypto/tls VersionTLS* constant
	MaxVersion uint16 // a crypto/tls VersionTLS* constant
}

// DefaultSSLPolicy is the policy of an HTTPS listener that names none.
const DefaultSSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// SSLPolicies lists the security policies a listener may name, with AWS's
// names so users can copy them from an ALB.
var SSLPolicies = []SSLPolicy{
	{DefaultSSLPolicy, tls.VersionTLS12, tls.VersionTLS13},
	{"ELBSecurityPolicy-TLS13-1-3-2021-06", tls.VersionTLS13, tls.VersionTLS13},
	{"ELBSecurityPolicy-TLS13-1-2-Res-2021-06", tls.VersionTLS12, tls.VersionTLS13},
	{"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", tls.VersionTLS12, tls.VersionTLS13},
	{"ELBSecurityPolicy-FS-1-2-Res-2020-10", tls.VersionTLS12, tls.VersionTLS12},
	{"ELBSecurityPolicy-TLS-1-2-2017-01", tls.VersionTLS12, tls.VersionTLS12},
	{"ELBSecurityPolicy-2016-08", tls.VersionTLS10, tls.VersionTLS12},
}

// LookupSSLPolicy returns the policy called name.
func LookupSSLPolicy(name string) (SSLPolicy, bool) {
	for _, p := range SSLPolicies {
		if p.Name == name {
			return p, true
		}
	}
	return SSLPolicy{}, false
}
