package certs

import "crypto/tls"

// Policy is an AWS security policy: the TLS versions, TLS 1.2 and older
// cipher suites and key exchange groups a listener offers. TLS 1.3 suites
// are not configurable in crypto/tls; every policy allowing TLS 1.3 offers
// all three (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305), as AWS's do.
// Suites AWS lists that crypto/tls does not implement (the CBC suites with
// SHA-384 and AES256-SHA256) are left out.
type Policy struct {
	Name       string
	MinVersion uint16 // a crypto/tls VersionTLS* constant
	MaxVersion uint16
	// Ciphers are the TLS 1.0–1.2 suites, in preference order.
	Ciphers []uint16
	// Curves are the key exchange groups, in preference order.
	Curves []tls.CurveID
}

// DefaultPolicy is the policy of an HTTPS listener that names none.
const DefaultPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// Cipher suite groups, named as AWS's policy tables list them.
var (
	ecdheGCM = []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	}
	ecdheCBCSHA256 = []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	}
	ecdheCBCSHA1 = []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	}
	rsaGCMSHA256 = []uint16{
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	}
	rsaCBCSHA1 = []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA}

	classicCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}
	hybridCurves  = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384}
)

func suites(groups ...[]uint16) []uint16 {
	var out []uint16
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// Policies lists the security policies a listener may name, with AWS's
// names.
var Policies = []Policy{
	{DefaultPolicy, tls.VersionTLS12, tls.VersionTLS13, suites(ecdheGCM, ecdheCBCSHA256), classicCurves},
	{"ELBSecurityPolicy-TLS13-1-3-2021-06", tls.VersionTLS13, tls.VersionTLS13, nil, classicCurves},
	{"ELBSecurityPolicy-TLS13-1-2-Res-2021-06", tls.VersionTLS12, tls.VersionTLS13, suites(ecdheGCM), classicCurves},
	{"ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", tls.VersionTLS12, tls.VersionTLS13, suites(ecdheGCM, ecdheCBCSHA256, ecdheCBCSHA1), classicCurves},
	{"ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06", tls.VersionTLS12, tls.VersionTLS13, suites(ecdheGCM, ecdheCBCSHA256, ecdheCBCSHA1, rsaGCMSHA256, rsaCBCSHA1), classicCurves},
	{"ELBSecurityPolicy-TLS13-1-2-PQ-2025-09", tls.VersionTLS12, tls.VersionTLS13, suites(ecdheGCM, ecdheCBCSHA256), hybridCurves},
	{"ELBSecurityPolicy-TLS13-1-3-PQ-2025-09", tls.VersionTLS13, tls.VersionTLS13, nil, hybridCurves},
	{"ELBSecurityPolicy-FS-1-2-Res-2020-10", tls.VersionTLS12, tls.VersionTLS12, suites(ecdheGCM), classicCurves},
	{"ELBSecurityPolicy-FS-1-2-Res-2019-08", tls.VersionTLS12, tls.VersionTLS12, suites(ecdheGCM, ecdheCBCSHA256), classicCurves},
	{"ELBSecurityPolicy-TLS-1-2-2017-01", tls.VersionTLS12, tls.VersionTLS12, suites(ecdheGCM, ecdheCBCSHA256, rsaGCMSHA256), classicCurves},
	{"ELBSecurityPolicy-TLS-1-1-2017-01", tls.VersionTLS11, tls.VersionTLS12, suites(ecdheGCM, ecdheCBCSHA256, ecdheCBCSHA1, rsaGCMSHA256, rsaCBCSHA1), classicCurves},
	{"ELBSecurityPolicy-2016-08", tls.VersionTLS10, tls.VersionTLS12, suites(ecdheGCM, ecdheCBCSHA256, ecdheCBCSHA1, rsaGCMSHA256, rsaCBCSHA1), classicCurves},
}

// LookupPolicy returns the policy called name.
func LookupPolicy(name string) (Policy, bool) {
	for _, p := range Policies {
		if p.Name == name {
			return p, true
		}
	}
	return Policy{}, false
}

// PolicyNames lists the names of Policies.
func PolicyNames() []string {
	names := make([]string, len(Policies))
	for i, p := range Policies {
		names[i] = p.Name
	}
	return names
}

// Apply sets cfg's versions, cipher suites and groups to p's.
func (p Policy) Apply(cfg *tls.Config) {
	cfg.MinVersion = p.MinVersion
	cfg.MaxVersion = p.MaxVersion
	cfg.CipherSuites = p.Ciphers
	cfg.CurvePreferences = p.Curves
}
