package action

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"strings"
	"unicode/utf8"
)

// The headers below follow the AWS pages "Mutual authentication with TLS in
// Application Load Balancer" (section "HTTP headers and mutual TLS") and
// "Edit attributes for your Application Load Balancer"
// (routing.http.x_amzn_tls_version_and_cipher_suite.enabled: both values
// "in OpenSSL format").

// Names of the headers the load balancer adds on HTTPS listeners.
const (
	HeaderTLSVersion       = "X-Amzn-Tls-Version"
	HeaderTLSCipherSuite   = "X-Amzn-Tls-Cipher-Suite"
	HeaderMTLSClientcert   = "X-Amzn-Mtls-Clientcert"
	HeaderMTLSSerialNumber = "X-Amzn-Mtls-Clientcert-Serial-Number"
	HeaderMTLSIssuer       = "X-Amzn-Mtls-Clientcert-Issuer"
	HeaderMTLSSubject      = "X-Amzn-Mtls-Clientcert-Subject"
	HeaderMTLSValidity     = "X-Amzn-Mtls-Clientcert-Validity"
	HeaderMTLSLeaf         = "X-Amzn-Mtls-Clientcert-Leaf"
)

// Header is one header added to a forwarded request.
type Header struct{ Name, Value string }

// TLSHeaderOptions selects the TLS headers of a listener.
type TLSHeaderOptions struct {
	// VersionAndCipher adds X-Amzn-Tls-Version and X-Amzn-Tls-Cipher-Suite
	// (the attribute routing.http.x_amzn_tls_version_and_cipher_suite.enabled).
	// False, the default, adds neither.
	VersionAndCipher bool
	// MTLSMode is the listener's mutual TLS mode: "verify" adds the client
	// certificate's serial number, issuer, subject, validity and leaf;
	// "passthrough" adds the whole chain as the client sent it; anything
	// else ("" or "off") adds nothing.
	MTLSMode string
}

// TLSHeaders returns, in a fixed order, the headers the load balancer adds
// to every request of the client connection cs: the TLS version and cipher
// suite, then the mutual TLS headers. A header whose value is unknown (no
// connection state, no client certificate, a version or suite without an
// OpenSSL name) is left out. No value contains CR or LF.
func TLSHeaders(cs *tls.ConnectionState, o TLSHeaderOptions) []Header {
	if cs == nil {
		return nil
	}
	var hs []Header
	if o.VersionAndCipher {
		if v := TLSVersionName(cs.Version); v != "" {
			hs = append(hs, Header{HeaderTLSVersion, v})
		}
		if c := CipherSuiteName(cs.CipherSuite); c != "" {
			hs = append(hs, Header{HeaderTLSCipherSuite, c})
		}
	}
	if len(cs.PeerCertificates) == 0 {
		return hs
	}
	switch o.MTLSMode {
	case "verify":
		leaf := cs.PeerCertificates[0]
		hs = append(hs,
			Header{HeaderMTLSSerialNumber, serialHex(leaf.SerialNumber)},
			Header{HeaderMTLSIssuer, distinguishedName(leaf.RawIssuer)},
			Header{HeaderMTLSSubject, distinguishedName(leaf.RawSubject)},
			Header{HeaderMTLSValidity, "NotBefore=" + leaf.NotBefore.UTC().Format(isoSeconds) +
				";NotAfter=" + leaf.NotAfter.UTC().Format(isoSeconds)},
			Header{HeaderMTLSLeaf, escapedPEM(leaf)},
		)
	case "passthrough":
		hs = append(hs, Header{HeaderMTLSClientcert, escapedPEM(cs.PeerCertificates...)})
	}
	return hs
}

// isoSeconds is the ISO 8601 form of the validity header:
// NotBefore=2023-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z.
const isoSeconds = "2006-01-02T15:04:05Z"

// IsLBTLSHeader reports whether a request header name (any case) belongs
// to the load balancer's TLS headers, which a client must not be able to
// send to a target: names starting X-Amzn-Tls- or X-Amzn-Mtls-.
func IsLBTLSHeader(name []byte) bool {
	return hasPrefixFold(name, "x-amzn-tls-") || hasPrefixFold(name, "x-amzn-mtls-")
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring the case of s.
func hasPrefixFold(s []byte, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// TLSVersionName is the OpenSSL name of a protocol version.
func TLSVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return ""
}

// CipherSuiteName is the OpenSSL name of every suite crypto/tls can
// negotiate. TLS 1.3 suites keep their RFC 8446 names in OpenSSL, as in
// ALB's security policy tables and access logs.
func CipherSuiteName(id uint16) string {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256:
		return "TLS_AES_128_GCM_SHA256"
	case tls.TLS_AES_256_GCM_SHA384:
		return "TLS_AES_256_GCM_SHA384"
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return "TLS_CHACHA20_POLY1305_SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-ECDSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-RSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-ECDSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-RSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-ECDSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-RSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:
		return "ECDHE-ECDSA-AES128-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:
		return "ECDHE-RSA-AES128-SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:
		return "ECDHE-ECDSA-AES128-SHA"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:
		return "ECDHE-RSA-AES128-SHA"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:
		return "ECDHE-ECDSA-AES256-SHA"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:
		return "ECDHE-RSA-AES256-SHA"
	case tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:
		return "ECDHE-RSA-DES-CBC3-SHA"
	case tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA:
		return "ECDHE-ECDSA-RC4-SHA"
	case tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA:
		return "ECDHE-RSA-RC4-SHA"
	case tls.TLS_RSA_WITH_AES_128_GCM_SHA256:
		return "AES128-GCM-SHA256"
	case tls.TLS_RSA_WITH_AES_256_GCM_SHA384:
		return "AES256-GCM-SHA384"
	case tls.TLS_RSA_WITH_AES_128_CBC_SHA256:
		return "AES128-SHA256"
	case tls.TLS_RSA_WITH_AES_128_CBC_SHA:
		return "AES128-SHA"
	case tls.TLS_RSA_WITH_AES_256_CBC_SHA:
		return "AES256-SHA"
	case tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:
		return "DES-CBC3-SHA"
	case tls.TLS_RSA_WITH_RC4_128_SHA:
		return "RC4-SHA"
	}
	return ""
}

// serialHex writes a serial number as AWS shows it ("03A5B1"): upper-case
// hex of its big-endian bytes, two digits a byte, "-" before a negative one.
func serialHex(n *big.Int) string {
	if n == nil {
		return ""
	}
	mag := n.Bytes()
	if len(mag) == 0 {
		return "00"
	}
	b := make([]byte, 0, 1+2*len(mag))
	if n.Sign() < 0 {
		b = append(b, '-')
	}
	for _, c := range mag {
		b = append(b, upperHex[c>>4], upperHex[c&0xf])
	}
	return string(b)
}

// escapedPEM is the PEM of certs, URL-encoded with +=/ left as they are:
// letters, digits, "-._~+=/" pass, every other byte (space, newline) is
// %XX with upper-case hex.
func escapedPEM(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		for _, ch := range pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}) {
			if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-._~+=/", ch) >= 0 {
				b.WriteByte(ch)
				continue
			}
			b.WriteByte('%')
			b.WriteByte(upperHex[ch>>4])
			b.WriteByte(upperHex[ch&0xf])
		}
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

// attributeTypeAndValue is one attribute of a distinguished name, its value
// kept raw so the string type decides how it prints.
type attributeTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rdnSET is a relative distinguished name; the SET suffix makes
// encoding/asn1 read it as a SET OF.
type rdnSET []attributeTypeAndValue

// attributeNames are the short names OpenSSL prints for attribute types;
// other types print as dotted OIDs.
var attributeNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.17":                   "postalCode",
	"2.5.4.42":                   "GN",
	"2.5.4.43":                   "initials",
	"2.5.4.44":                   "generationQualifier",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"2.5.4.97":                   "organizationIdentifier",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionC",
}

// distinguishedName formats a DER Name as an RFC 2253 string the way
// OpenSSL's XN_FLAG_RFC2253 does: most specific attribute first, "," between
// RDNs and "+" inside one, RFC 2253 specials backslash-escaped, control
// characters and every byte of non-ASCII UTF-8 as \XX, and values of
// non-string types as # and the hex of their DER.
func distinguishedName(raw []byte) string {
	var rdns []rdnSET
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) != 0 {
		return "" // unreachable for a certificate crypto/x509 parsed
	}
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		for j := len(rdns[i]) - 1; j >= 0; j-- {
			if b.Len() > 0 {
				if j == len(rdns[i])-1 {
					b.WriteByte(',')
				} else {
					b.WriteByte('+')
				}
			}
			writeAttribute(&b, rdns[i][j])
		}
	}
	return b.String()
}

func writeAttribute(b *strings.Builder, a attributeTypeAndValue) {
	oid := a.Type.String()
	if name, ok := attributeNames[oid]; ok {
		b.WriteString(name)
	} else {
		b.WriteString(oid)
	}
	b.WriteByte('=')
	v, ok := stringValue(a.Value)
	if !ok {
		b.WriteByte('#')
		for _, c := range a.Value.FullBytes {
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0xf])
		}
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c < 0x20 || c >= 0x7f:
			b.WriteByte('\\')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&0xf])
		case strings.IndexByte(`,+"\<>;`, c) >= 0,
			i == 0 && (c == '#' || c == ' '),
			i == len(v)-1 && c == ' ':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
}

// stringValue returns the UTF-8 text of a string value of a type OpenSSL
// accepts in names, and false for any other type, which prints as DER.
func stringValue(v asn1.RawValue) ([]byte, bool) {
	if v.Class != asn1.ClassUniversal {
		return nil, false
	}
	switch v.Tag {
	case asn1.TagUTF8String:
		return v.Bytes, true
	case asn1.TagNumericString, asn1.TagPrintableString, asn1.TagT61String, asn1.TagIA5String:
		// One byte a character, ISO 8859-1.
		out := make([]byte, 0, len(v.Bytes))
		for _, c := range v.Bytes {
			out = utf8.AppendRune(out, rune(c))
		}
		return out, true
	case asn1.TagBMPString, 28 /* UniversalString */ :
		size := 2
		if v.Tag == 28 {
			size = 4
		}
		if len(v.Bytes)%size != 0 {
			return nil, false
		}
		out := make([]byte, 0, len(v.Bytes))
		for i := 0; i < len(v.Bytes); i += size {
			r := rune(binary.BigEndian.Uint16(v.Bytes[i:]))
			if size == 4 {
				r = rune(binary.BigEndian.Uint32(v.Bytes[i:]))
			}
			out = utf8.AppendRune(out, r)
		}
		return out, true
	}
	return nil, false
}
