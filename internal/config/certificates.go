package config

import "time"

// Certificate sources.
const (
	SourceFile     = "file"
	SourceInternal = "internal"
	SourceACME     = "acme"
)

// ACME challenge types.
const (
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
	ChallengeDNS01     = "dns-01"
)

// ACME directories.
const (
	LetsEncryptProduction = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging    = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// Defaults of certificate sources.
const (
	DefaultKeyType            = "ec256"
	DefaultInternalLifetime   = Duration(7 * 24 * time.Hour)
	DefaultTSIGAlgorithm      = "hmac-sha256"
	DefaultPropagationTimeout = Duration(2 * time.Minute)
)

// Certificate is a named certificate source, referenced from HTTPS
// listeners by name.
type Certificate struct {
	// Name is referenced from listeners.
	Name string `yaml:"name,omitempty"`
	// Source is file, internal or acme. Empty means file.
	Source string `yaml:"source,omitempty"`

	// CertFile is a PEM file with the leaf certificate, optionally followed
	// by its chain. Relative paths resolve against the config's folder.
	// The files are watched: a changed certificate is served from the next
	// handshake on. File source only.
	CertFile string `yaml:"cert_file,omitempty"`
	// KeyFile is the unencrypted PEM private key. File source only.
	KeyFile string `yaml:"key_file,omitempty"`
	// ChainFile is an optional PEM file with intermediate certificates.
	// File source only.
	ChainFile string `yaml:"chain_file,omitempty"`

	// Domains are the names to get certificates for, one certificate per
	// name; "*.example.com" covers one label. Internal and acme sources;
	// required unless on_demand is set, refused with it.
	Domains []string `yaml:"domains,omitempty"`
	// KeyType is ec256 (default), ec384, rsa2048 or rsa4096. Internal and
	// acme sources.
	KeyType string `yaml:"key_type,omitempty"`
	// OnDemand issues certificates at the first handshake for names that
	// match its allow-list. Internal and acme sources, without Domains.
	OnDemand *OnDemand `yaml:"on_demand,omitempty"`

	// Lifetime of the certificates the local CA issues. Zero means 168h
	// (7 days); range 1m–9528h (397 days). Internal source only.
	Lifetime Duration `yaml:"lifetime,omitempty"`

	// Email is the ACME account's contact address. Optional.
	Email string `yaml:"email,omitempty"`
	// Directory is the ACME server's directory URL. Empty means Let's
	// Encrypt production, or Let's Encrypt staging when Staging is true.
	Directory string `yaml:"directory,omitempty"`
	// Staging selects Let's Encrypt's staging directory. Default false.
	Staging bool `yaml:"staging,omitempty"`
	// Challenges are the ACME challenge types to answer. Empty means
	// http-01 when the config has an HTTP listener plus tls-alpn-01 when a
	// listener serves this certificate. dns-01 cannot be combined with the
	// others and is the only one that can validate wildcards.
	Challenges []string `yaml:"challenges,omitempty"`
	// DNS says how to publish dns-01 records. Required with dns-01.
	DNS *DNSChallenge `yaml:"dns,omitempty"`
	// TrustedRoots is a PEM file of CA certificates trusted for the ACME
	// server's own HTTPS connection, for private ACME servers. Empty means
	// the system's roots.
	TrustedRoots string `yaml:"trusted_roots,omitempty"`
	// ExternalAccount binds the account to an existing one at CAs that
	// require it (external account binding).
	ExternalAccount *ExternalAccount `yaml:"external_account,omitempty"`
}

// SourceOrDefault returns c's source, file when none is written.
func (c *Certificate) SourceOrDefault() string {
	if c.Source == "" {
		return SourceFile
	}
	return c.Source
}

// OnDemand is the allow-list of on-demand issuance.
type OnDemand struct {
	// AllowedDomains are names or patterns ("*.example.com" matches one
	// label) a client may ask for. At least one.
	AllowedDomains []string `yaml:"allowed_domains,omitempty"`
}

// DNS providers for the dns-01 challenge.
const (
	DNSProviderRFC2136 = "rfc2136"
	DNSProviderExec    = "exec"
)

// DNSChallenge configures dns-01.
type DNSChallenge struct {
	// Provider is rfc2136 (dynamic DNS updates signed with TSIG) or exec
	// (a command run as COMMAND present|cleanup DOMAIN TOKEN VALUE).
	Provider string `yaml:"provider,omitempty"`

	// Server is the DNS server accepting updates, host or host:port (port
	// 53 when omitted). rfc2136 only.
	Server string `yaml:"server,omitempty"`
	// TSIGKeyName names the TSIG key. rfc2136 only, required.
	TSIGKeyName string `yaml:"tsig_key_name,omitempty"`
	// TSIGSecret is the key's base64 secret. rfc2136 only, required.
	TSIGSecret string `yaml:"tsig_secret,omitempty"`
	// TSIGAlgorithm is hmac-sha256 (default), hmac-sha512, hmac-sha384,
	// hmac-sha224 or hmac-sha1. rfc2136 only.
	TSIGAlgorithm string `yaml:"tsig_algorithm,omitempty"`

	// Command is the program exec runs; relative paths resolve against the
	// config's folder. exec only, required.
	Command string `yaml:"command,omitempty"`
	// CommandTimeout bounds each run of Command. Zero means 2m; range
	// 1s–1h. exec only.
	CommandTimeout Duration `yaml:"command_timeout,omitempty"`

	// Resolvers are DNS servers (host:port) asked whether the record is
	// visible before the CA is told to look. Empty means the system's.
	Resolvers []string `yaml:"resolvers,omitempty"`
	// PropagationTimeout is how long to wait for the record to become
	// visible. Zero means 2m; range 1s–1h.
	PropagationTimeout Duration `yaml:"propagation_timeout,omitempty"`
	// PropagationDelay waits this long after publishing before checking.
	// Default 0; range 0–1h.
	PropagationDelay Duration `yaml:"propagation_delay,omitempty"`
	// SkipPropagationCheck tells the CA to look as soon as the record is
	// published (after PropagationDelay). Default false.
	SkipPropagationCheck bool `yaml:"skip_propagation_check,omitempty"`
}

// ExternalAccount holds ACME external account binding credentials.
type ExternalAccount struct {
	// KeyID is the key identifier the CA gave. Required.
	KeyID string `yaml:"key_id,omitempty"`
	// MACKey is the base64url HMAC key the CA gave. Required.
	MACKey string `yaml:"mac_key,omitempty"`
}

// Mutual authentication modes, as on ALB.
const (
	MTLSOff         = "off"
	MTLSVerify      = "verify"
	MTLSPassthrough = "passthrough"
)

// MutualAuthentication configures client certificates on an HTTPS
// listener.
type MutualAuthentication struct {
	// Mode is off (default), verify or passthrough.
	Mode string `yaml:"mode,omitempty"`
	// TrustStore is a PEM file of the CA certificates client certificates
	// must chain to. Required for verify, refused otherwise.
	TrustStore string `yaml:"trust_store,omitempty"`
	// RevocationLists are CRL files (PEM or DER) signed by a CA of the
	// trust store; a revoked client certificate is refused. verify only.
	RevocationLists []string `yaml:"revocation_lists,omitempty"`
	// IgnoreClientCertificateExpiry accepts expired or not-yet-valid
	// client certificates that otherwise verify. Default false.
	IgnoreClientCertificateExpiry bool `yaml:"ignore_client_certificate_expiry,omitempty"`
}
