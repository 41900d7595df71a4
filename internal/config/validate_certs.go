package config

import (
	"encoding/base64"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

func (v *validator) certificates() {
	seen := map[string]string{}
	for i := range v.c.Certificates {
		cert := &v.c.Certificates[i]
		p := index("certificates", i)
		switch prev, dup := seen[cert.Name]; {
		case cert.Name == "":
			v.missing(p+".name", "give every certificate a name to refer to it from listeners")
		case dup:
			v.bad(p+".name", cert.Name, "is already the name of %s; names must be unique", prev)
		default:
			seen[cert.Name] = p
			v.certs[cert.Name] = true
		}
		switch cert.SourceOrDefault() {
		case SourceFile:
			v.fileCertificate(cert, p)
		case SourceInternal:
			v.managedCertificate(cert, p)
		case SourceACME:
			v.managedCertificate(cert, p)
			v.acmeCertificate(cert, p)
		default:
			v.bad(p+".source", cert.Source, "is not a certificate source; use file, internal or acme")
		}
	}
}

// only reports each of fields that is set as belonging to who; fix says
// what to do instead.
func (v *validator) only(p, who, fix string, fields map[string]bool) {
	keys := make([]string, 0, len(fields))
	for k, set := range fields {
		if set {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.add(p+"."+k, "", "is only for "+who+"; remove it or "+fix)
	}
}

func (v *validator) fileCertificate(c *Certificate, p string) {
	if c.CertFile == "" {
		v.missing(p+".cert_file", "name the PEM file holding the certificate")
	}
	if c.KeyFile == "" {
		v.missing(p+".key_file", "name the PEM file holding the private key")
	}
	v.only(p, "internal and acme sources", "change source", map[string]bool{
		"domains": len(c.Domains) > 0, "key_type": c.KeyType != "", "on_demand": c.OnDemand != nil,
	})
	v.notACME(c, p)
	v.notInternal(c, p)
}

func (v *validator) notACME(c *Certificate, p string) {
	v.only(p, "acme sources", "change source", map[string]bool{
		"email": c.Email != "", "directory": c.Directory != "", "staging": c.Staging,
		"challenges": len(c.Challenges) > 0, "dns": c.DNS != nil, "trusted_roots": c.TrustedRoots != "",
		"external_account": c.ExternalAccount != nil,
	})
}

func (v *validator) notInternal(c *Certificate, p string) {
	if v.c.pos.has(p + ".lifetime") {
		v.add(p+".lifetime", seconds(c.Lifetime), "is only for internal sources; remove it or change source")
	}
}

// managedCertificate checks what internal and acme sources share.
func (v *validator) managedCertificate(c *Certificate, p string) {
	v.only(p, "file sources", "change source", map[string]bool{
		"cert_file": c.CertFile != "", "key_file": c.KeyFile != "", "chain_file": c.ChainFile != "",
	})
	if len(c.Domains) == 0 && c.OnDemand == nil {
		v.missing(p+".domains", "list the names to get certificates for, or set on_demand")
	}
	for i, d := range c.Domains {
		if !validDomain(d, true) {
			v.bad(index(p+".domains", i), d, "is not a DNS name, a wildcard like *.example.com or an IP address")
		}
	}
	v.oneOf(p+".key_type", c.KeyType, "ec256", "ec384", "rsa2048", "rsa4096")
	if od := c.OnDemand; od != nil {
		if len(c.Domains) > 0 {
			v.add(p+".on_demand", "", "cannot be combined with domains; put the fixed names in a certificate entry of their own and list both on the listener")
		}
		if len(od.AllowedDomains) == 0 {
			v.missing(p+".on_demand.allowed_domains", "list the names or patterns (*.example.com) clients may ask for; an open on-demand CA would issue for any name a client sends")
		}
		for i, d := range od.AllowedDomains {
			if !validDomain(d, false) {
				v.bad(index(p+".on_demand.allowed_domains", i), d, "is not a DNS name or a wildcard like *.example.com")
			}
		}
	}
	if c.SourceOrDefault() == SourceInternal {
		v.durRange(p+".lifetime", c.Lifetime, Duration(time.Minute), Duration(397*24*time.Hour))
		v.notACME(c, p)
	} else {
		v.notInternal(c, p)
	}
}

// validDomain reports whether s is a DNS name, a wildcard covering one
// label, or (when ip) an IP address.
func validDomain(s string, ip bool) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return ip
	}
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		return strings.Contains(rest, ".") && validHostname(rest) && !strings.HasSuffix(rest, ".")
	}
	return validHostname(s) && !strings.HasSuffix(s, ".")
}

func (v *validator) acmeCertificate(c *Certificate, p string) {
	if c.Directory != "" {
		u, err := url.Parse(c.Directory)
		switch {
		case err != nil || u.Host == "" || u.Scheme != "https":
			v.bad(p+".directory", c.Directory, "is not an https:// URL of an ACME directory")
		case c.Staging:
			v.add(p+".staging", "true", "cannot be combined with directory; staging selects Let's Encrypt's staging directory, directory names another")
		}
	}
	if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " \t<>")) {
		v.bad(p+".email", c.Email, "is not an email address")
	}
	if ea := c.ExternalAccount; ea != nil {
		if ea.KeyID == "" {
			v.missing(p+".external_account.key_id", "copy the key identifier your CA gave you")
		}
		if ea.MACKey == "" {
			v.missing(p+".external_account.mac_key", "copy the HMAC key your CA gave you")
		} else if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(ea.MACKey, "=")); err != nil {
			v.bad(p+".external_account.mac_key", "(hidden)", "is not base64url")
		}
	}
	v.challenges(c, p)
}

func (v *validator) challenges(c *Certificate, p string) {
	dns := false
	for i, ch := range c.Challenges {
		f := index(p+".challenges", i)
		switch ch {
		case ChallengeDNS01:
			dns = true
		case ChallengeHTTP01:
			if !v.hasHTTPListener() {
				v.bad(f, ch, "needs an HTTP listener (the CA connects to port 80); add one or use tls-alpn-01 or dns-01")
			}
		case ChallengeTLSALPN01:
			if !v.servedOnHTTPS(c.Name) {
				v.bad(f, ch, "needs an HTTPS listener serving certificate %q (the CA connects to port 443); add it to a listener's certificates or use another challenge", c.Name)
			}
		default:
			v.bad(f, ch, "is not a challenge type; use http-01, tls-alpn-01 or dns-01")
		}
	}
	switch {
	case len(c.Challenges) == 0:
		v.missing(p+".challenges", "no challenge can be answered: add an HTTP listener on port 80, serve the certificate on an HTTPS listener on port 443, or use dns-01")
	case dns && len(c.Challenges) > 1:
		v.bad(p+".challenges", strings.Join(c.Challenges, ","), "combines dns-01 with other challenges; use dns-01 alone or leave it out")
	}
	if dns && c.DNS == nil {
		v.missing(p+".dns", "dns-01 needs a provider: rfc2136 or exec")
	}
	if !dns {
		for i, d := range c.Domains {
			if strings.HasPrefix(d, "*.") {
				v.bad(index(p+".domains", i), d, "is a wildcard, which only dns-01 can validate; set challenges: [dns-01] and a dns provider")
			}
		}
		if c.DNS != nil && len(c.Challenges) > 0 {
			v.add(p+".dns", "", "is only used by the dns-01 challenge; add dns-01 to challenges or remove it")
		}
	} else {
		for i, d := range c.Domains {
			if _, err := netip.ParseAddr(d); err == nil {
				v.bad(index(p+".domains", i), d, "is an IP address, which dns-01 cannot validate; use http-01 or tls-alpn-01")
			}
		}
	}
	if c.DNS != nil {
		v.dnsChallenge(c.DNS, p+".dns")
	}
}

func (v *validator) hasHTTPListener() bool {
	for _, lb := range v.c.LoadBalancers {
		for _, l := range lb.Listeners {
			if l.Protocol == "HTTP" {
				return true
			}
		}
	}
	return false
}

func (v *validator) servedOnHTTPS(name string) bool {
	for _, lb := range v.c.LoadBalancers {
		for _, l := range lb.Listeners {
			if l.Protocol == "HTTPS" && slices.Contains(l.Certificates, name) {
				return true
			}
		}
	}
	return false
}

func (v *validator) dnsChallenge(d *DNSChallenge, p string) {
	switch d.Provider {
	case DNSProviderRFC2136:
		if d.Server == "" {
			v.missing(p+".server", "name the DNS server that accepts updates for the zone, host or host:port")
		} else if !validHostPort(d.Server, true) {
			v.bad(p+".server", d.Server, "is not host or host:port")
		}
		if d.TSIGKeyName == "" {
			v.missing(p+".tsig_key_name", "name the TSIG key the DNS server accepts updates with")
		}
		if d.TSIGSecret == "" {
			v.missing(p+".tsig_secret", "give the TSIG key's base64 secret")
		} else if _, err := base64.StdEncoding.DecodeString(d.TSIGSecret); err != nil {
			v.bad(p+".tsig_secret", "(hidden)", "is not base64")
		}
		v.oneOf(p+".tsig_algorithm", d.TSIGAlgorithm, "hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1")
		v.only(p, "the exec provider", "change provider", map[string]bool{"command": d.Command != "", "command_timeout": v.c.pos.has(p + ".command_timeout")})
	case DNSProviderExec:
		if d.Command == "" {
			v.missing(p+".command", "name the program to run as COMMAND present|cleanup DOMAIN TOKEN VALUE")
		}
		v.durRange(p+".command_timeout", d.CommandTimeout, Duration(time.Second), Duration(time.Hour))
		v.only(p, "the rfc2136 provider", "change provider", map[string]bool{
			"server": d.Server != "", "tsig_key_name": d.TSIGKeyName != "", "tsig_secret": d.TSIGSecret != "",
			"tsig_algorithm": v.c.pos.has(p + ".tsig_algorithm"),
		})
	case "":
		v.missing(p+".provider", "use rfc2136 or exec")
	default:
		v.bad(p+".provider", d.Provider, "is not a DNS provider; use rfc2136 or exec")
	}
	for i, r := range d.Resolvers {
		if !validHostPort(r, false) {
			v.bad(index(p+".resolvers", i), r, "is not host:port")
		}
	}
	v.durRange(p+".propagation_timeout", d.PropagationTimeout, Duration(time.Second), Duration(time.Hour))
	v.durRange(p+".propagation_delay", d.PropagationDelay, 0, Duration(time.Hour))
}

// validHostPort reports whether s is host:port, or a bare host when
// portOptional.
func validHostPort(s string, portOptional bool) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if !portOptional {
			return false
		}
		host, port = s, "53"
	}
	if host == "" || port == "" {
		return false
	}
	if _, err := netip.ParseAddr(host); err != nil && !validHostname(host) {
		return false
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
	}
	return len(port) <= 5
}

func (v *validator) mutualAuthentication(m *MutualAuthentication, p string) {
	if m == nil {
		return
	}
	if !v.oneOf(p+".mode", m.Mode, MTLSOff, MTLSVerify, MTLSPassthrough) {
		return
	}
	if m.Mode == MTLSVerify {
		if m.TrustStore == "" {
			v.missing(p+".trust_store", "verify needs a PEM file of the CA certificates client certificates must chain to")
		}
		return
	}
	v.only(p, "mode verify", "set mode: verify", map[string]bool{
		"trust_store": m.TrustStore != "", "revocation_lists": len(m.RevocationLists) > 0,
		"ignore_client_certificate_expiry": m.IgnoreClientCertificateExpiry,
	})
}
