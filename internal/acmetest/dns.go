package acmetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DefaultTSIGKeyName is the TSIG key name a DNS server uses when
// TSIGKey.Name is empty.
const DefaultTSIGKeyName = "acmetest-key."

// recordTTL is the TTL of every answer. It is short because tests change
// records under a client's feet.
const recordTTL = 1

// TSIGKey is a TSIG key shared by the DNS server and the clients that send it
// RFC 2136 updates.
type TSIGKey struct {
	// Name is the key name. Empty means DefaultTSIGKeyName. NewDNS stores it
	// lower-cased with a trailing dot, the form clients must send.
	Name string
	// Secret is the base64 HMAC secret. Empty means a random 32-byte secret,
	// different for each server; read it back with (*DNS).Key.
	Secret string
	// Algorithm is the HMAC algorithm, e.g. "hmac-sha256". Empty means
	// dns.HmacSHA256. Updates signed with any other algorithm are refused.
	Algorithm string
}

// DNSOptions configures NewDNS. The zero value is ready to use.
type DNSOptions struct {
	// TSIG is the key that must sign updates. The zero value picks a random
	// secret under DefaultTSIGKeyName with hmac-sha256.
	TSIG TSIGKey
	// Hosts overrides address answers. Keys are names, with or without the
	// trailing dot, in any case; IPv4 values answer A queries and IPv6 values
	// answer AAAA queries. A name mapped to an empty slice does not exist
	// (NXDOMAIN). Names not in the map answer A with 127.0.0.1 and have no
	// AAAA records. Nil means no overrides.
	Hosts map[string][]netip.Addr
}

// DNS is an authoritative DNS server for every zone, on 127.0.0.1 over UDP
// and TCP on one port. The zone of a name is its last two labels, so
// "_acme-challenge.www.example.test." lives in "example.test.".
type DNS struct {
	addr string
	key  TSIGKey

	mu      sync.Mutex
	hosts   map[string][]netip.Addr // canonical name → addresses
	txt     map[string][]string     // canonical name → TXT values
	serial  uint32
	updates int
}

// NewDNS starts a DNS server and stops it when t's cleanup runs.
func NewDNS(t testing.TB, opts DNSOptions) *DNS {
	t.Helper()
	key, err := normalizeKey(opts.TSIG)
	if err != nil {
		t.Fatalf("acmetest: %v", err)
	}
	d := &DNS{
		key:    key,
		hosts:  make(map[string][]netip.Addr, len(opts.Hosts)),
		txt:    make(map[string][]string),
		serial: 1,
	}
	for name, addrs := range opts.Hosts {
		d.hosts[canonical(name)] = slices.Clone(addrs)
	}

	pc, ln, err := listenUDPAndTCP()
	if err != nil {
		t.Fatalf("acmetest: DNS listen: %v", err)
	}
	d.addr = ln.Addr().String()

	started := make(chan struct{}, 2)
	servers := []*dns.Server{
		{PacketConn: pc},
		{Listener: ln},
	}
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		srv.Handler = dns.HandlerFunc(d.serveDNS)
		srv.MsgAcceptFunc = acceptMsg
		srv.TsigSecret = map[string]string{key.Name: key.Secret}
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { errc <- srv.ActivateAndServe() }()
	}
	// Shutdown fails on a server that has not started yet, which would
	// leave it serving after the test, so wait for both.
	for range servers {
		select {
		case <-started:
		case err := <-errc:
			t.Fatalf("acmetest: DNS serve: %v", err)
		}
	}
	t.Cleanup(func() {
		for _, srv := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := srv.ShutdownContext(ctx); err != nil {
				t.Errorf("acmetest: DNS shutdown: %v", err)
			}
			cancel()
		}
		for range servers {
			<-errc
		}
	})
	return d
}

// Addr returns the server's address, "127.0.0.1:PORT", for UDP and TCP.
func (d *DNS) Addr() string { return d.addr }

// Key returns the TSIG key that signs updates, in the form clients must send
// it (lower-case fully qualified key and algorithm names).
func (d *DNS) Key() TSIGKey { return d.key }

// TXT returns the TXT values at name, whether added by an update or by
// SetTXT. The name may omit the trailing dot.
func (d *DNS) TXT(name string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.txt[canonical(name)])
}

// SetTXT adds value to the TXT records at name, as an external DNS hook
// would. Like an update, adding a value that is already there does nothing;
// other values at name stay, so an apex and a wildcard challenge can share
// one name.
func (d *DNS) SetTXT(name, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addTXT(canonical(name), value)
	d.serial++
}

// DeleteTXT removes value from the TXT records at name, or all of them when
// value is empty.
func (d *DNS) DeleteTXT(name, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deleteTXT(canonical(name), value)
	d.serial++
}

// SetHost replaces the address answers for name, like an entry of
// DNSOptions.Hosts; no addresses makes the name not exist.
func (d *DNS) SetHost(name string, addrs ...netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hosts[canonical(name)] = slices.Clone(addrs)
}

// Updates returns how many UPDATE messages the server received, including
// refused ones.
func (d *DNS) Updates() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.updates
}

// acceptMsg is the default accept func plus UPDATE, which the default
// answers with NOTIMP because an update's sections may hold many records.
func acceptMsg(dh dns.Header) dns.MsgAcceptAction {
	const qr = 1 << 15
	if dh.Bits&qr != 0 {
		return dns.MsgIgnore
	}
	if opcode := int(dh.Bits>>11) & 0xF; opcode == dns.OpcodeUpdate {
		if dh.Qdcount != 1 { // the zone section holds exactly one zone
			return dns.MsgReject
		}
		return dns.MsgAccept
	}
	return dns.DefaultMsgAcceptFunc(dh)
}

func (d *DNS) serveDNS(w dns.ResponseWriter, r *dns.Msg) {
	var m *dns.Msg
	if r.Opcode == dns.OpcodeUpdate {
		m = d.update(w, r)
	} else {
		m = d.query(r)
		// Sign replies to signed queries; a bad signature gets an unsigned
		// NOTAUTH.
		if t := r.IsTsig(); t != nil {
			if w.TsigStatus() != nil {
				m = new(dns.Msg).SetRcode(r, dns.RcodeNotAuth)
			} else {
				m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
			}
		}
	}
	_ = w.WriteMsg(m)
}

// query answers a standard query.
func (d *DNS) query(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg).SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	if q.Qclass != dns.ClassINET {
		m.Rcode = dns.RcodeRefused
		return m
	}
	name := canonical(q.Name)
	zone := zoneOf(name)
	hdr := func(rrtype uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: recordTTL}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	addrs, overridden := d.hosts[name]
	if overridden && len(addrs) == 0 && len(d.txt[name]) == 0 {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{d.soa(zone)}
		return m
	}
	if !overridden {
		addrs = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
	}
	switch q.Qtype {
	case dns.TypeA:
		for _, a := range addrs {
			if a.Is4() || a.Is4In6() {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: net.IP(a.Unmap().AsSlice())})
			}
		}
	case dns.TypeAAAA:
		for _, a := range addrs {
			if a.Is6() && !a.Is4In6() {
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.IP(a.AsSlice())})
			}
		}
	case dns.TypeTXT:
		for _, v := range d.txt[name] {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: chunk(v)})
		}
	case dns.TypeSOA:
		if name == zone {
			m.Answer = append(m.Answer, d.soa(zone))
		}
	case dns.TypeNS:
		if name == zone {
			ns := nameserver(zone)
			m.Answer = append(m.Answer, &dns.NS{Hdr: hdr(dns.TypeNS), Ns: ns})
			m.Extra = append(m.Extra, &dns.A{
				Hdr: dns.RR_Header{Name: ns, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: recordTTL},
				A:   net.IPv4(127, 0, 0, 1),
			})
		}
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{d.soa(zone)} // NODATA: the zone's SOA in the authority section
	}
	return m
}

// update applies an RFC 2136 UPDATE of TXT records. Unsigned updates are
// REFUSED; wrongly signed ones get an unsigned NOTAUTH.
func (d *DNS) update(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
	d.mu.Lock()
	d.updates++
	d.mu.Unlock()

	m := new(dns.Msg).SetReply(r)
	t := r.IsTsig()
	switch {
	case t == nil:
		m.Rcode = dns.RcodeRefused
		return m
	case w.TsigStatus() != nil, canonical(t.Hdr.Name) != d.key.Name, canonical(t.Algorithm) != d.key.Algorithm:
		m.Rcode = dns.RcodeNotAuth
		return m
	}
	m.Rcode = d.apply(r)
	m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
	return m
}

// apply checks every record of the update section and then applies them
// all, so an update is all or nothing. Adds must be TXT; deletes of other
// types delete nothing, since only TXT records are stored. Prerequisites are
// not implemented.
func (d *DNS) apply(r *dns.Msg) int {
	z := r.Question[0]
	zone := canonical(z.Name)
	switch {
	case z.Qclass != dns.ClassINET:
		return dns.RcodeFormatError
	case len(r.Answer) > 0:
		return dns.RcodeNotImplemented
	}
	for _, rr := range r.Ns {
		h := rr.Header()
		if !dns.IsSubDomain(zone, canonical(h.Name)) {
			return dns.RcodeNotZone
		}
		switch h.Class {
		case dns.ClassINET:
			if _, ok := rr.(*dns.TXT); !ok {
				return dns.RcodeNotImplemented
			}
		case dns.ClassANY, dns.ClassNONE:
		default:
			return dns.RcodeFormatError
		}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	for _, rr := range r.Ns {
		h := rr.Header()
		name := canonical(h.Name)
		switch h.Class {
		case dns.ClassINET: // add to an RRset
			d.addTXT(name, strings.Join(rr.(*dns.TXT).Txt, ""))
		case dns.ClassANY: // delete an RRset (type TXT) or every RRset (type ANY) of a name
			if h.Rrtype == dns.TypeTXT || h.Rrtype == dns.TypeANY {
				d.deleteTXT(name, "")
			}
		case dns.ClassNONE: // delete one RR
			if txt, ok := rr.(*dns.TXT); ok {
				d.deleteTXT(name, strings.Join(txt.Txt, ""))
			}
		}
	}
	d.serial++
	return dns.RcodeSuccess
}

// addTXT and deleteTXT need d.mu held and name canonical.
func (d *DNS) addTXT(name, value string) {
	if !slices.Contains(d.txt[name], value) {
		d.txt[name] = append(d.txt[name], value)
	}
}

func (d *DNS) deleteTXT(name, value string) {
	if value != "" {
		d.txt[name] = slices.DeleteFunc(d.txt[name], func(v string) bool { return v == value })
	}
	if value == "" || len(d.txt[name]) == 0 {
		delete(d.txt, name)
	}
}

// soa needs d.mu held.
func (d *DNS) soa(zone string) *dns.SOA {
	return &dns.SOA{
		Hdr:    dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: recordTTL},
		Ns:     nameserver(zone),
		Mbox:   "hostmaster." + strings.TrimPrefix(zone, "."),
		Serial: d.serial,
		// certmagic caches zone lookups process-wide for Refresh seconds;
		// zero keeps one test's lookups from hiding another's misconfiguration.
		Refresh: 0,
		Retry:   10,
		Expire:  600,
		Minttl:  0, // no negative caching
	}
}

// nameserver names this server inside zone; every name resolves to
// 127.0.0.1 unless overridden, so the NS answer points back at this host.
func nameserver(zone string) string {
	return "ns." + strings.TrimPrefix(zone, ".")
}

// zoneOf returns the zone apex of a canonical name: its last two labels, or
// the name itself when it has fewer.
func zoneOf(name string) string {
	labels := dns.SplitDomainName(name)
	if len(labels) <= 2 {
		return name
	}
	return dns.Fqdn(strings.Join(labels[len(labels)-2:], "."))
}

// canonical returns name lower-cased with a trailing dot.
func canonical(name string) string {
	return dns.CanonicalName(name)
}

// chunk splits a TXT value into the 255-byte character-strings of RFC 1035.
func chunk(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}

func normalizeKey(k TSIGKey) (TSIGKey, error) {
	if k.Name == "" {
		k.Name = DefaultTSIGKeyName
	}
	k.Name = canonical(k.Name)
	if k.Algorithm == "" {
		k.Algorithm = dns.HmacSHA256
	}
	k.Algorithm = canonical(k.Algorithm)
	if k.Secret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		k.Secret = base64.StdEncoding.EncodeToString(b)
	}
	if _, err := base64.StdEncoding.DecodeString(k.Secret); err != nil {
		return k, fmt.Errorf("TSIG secret is not base64: %w", err)
	}
	return k, nil
}

// listenUDPAndTCP binds UDP and TCP on the same free port of 127.0.0.1.
func listenUDPAndTCP() (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, errors.Join(errors.New("no port free for both UDP and TCP"), lastErr)
}
