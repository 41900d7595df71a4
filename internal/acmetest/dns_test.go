package acmetest_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/libdns/libdns"
	"github.com/libdns/rfc2136"
	"github.com/miekg/dns"

	"github.com/sluicelb/sluice/internal/acmetest"
)

func exchange(t *testing.T, network, addr string, m *dns.Msg, key *acmetest.TSIGKey) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	if key != nil {
		c.TsigSecret = map[string]string{key.Name: key.Secret}
		m.SetTsig(key.Name, key.Algorithm, 300, time.Now().Unix())
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s exchange: %v", network, err)
	}
	return r
}

func TestDNSQueries(t *testing.T) {
	t.Parallel()
	d := acmetest.NewDNS(t, acmetest.DNSOptions{Hosts: map[string][]netip.Addr{
		"v6.example.test":   {netip.MustParseAddr("::1"), netip.MustParseAddr("10.0.0.7")},
		"GONE.example.test": nil,
	}})
	d.SetTXT("_acme-challenge.example.test", "token")

	tests := []struct {
		name      string
		qname     string
		qtype     uint16
		rcode     int
		answer    []string // the answers' rdata, in order
		authority string   // the authority section's owner name, if any
	}{
		{"A default", "www.example.test.", dns.TypeA, dns.RcodeSuccess, []string{"127.0.0.1"}, ""},
		{"AAAA default", "www.example.test.", dns.TypeAAAA, dns.RcodeSuccess, nil, "example.test."},
		{"A override", "v6.example.test.", dns.TypeA, dns.RcodeSuccess, []string{"10.0.0.7"}, ""},
		{"AAAA override", "V6.Example.Test.", dns.TypeAAAA, dns.RcodeSuccess, []string{"::1"}, ""},
		{"NXDOMAIN override", "gone.example.test.", dns.TypeA, dns.RcodeNameError, nil, "example.test."},
		{"TXT", "_acme-challenge.example.test.", dns.TypeTXT, dns.RcodeSuccess, []string{"token"}, ""},
		{"TXT none", "www.example.test.", dns.TypeTXT, dns.RcodeSuccess, nil, "example.test."},
		{"SOA apex", "example.test.", dns.TypeSOA, dns.RcodeSuccess, []string{"ns.example.test."}, ""},
		{"SOA below apex", "_acme-challenge.www.example.test.", dns.TypeSOA, dns.RcodeSuccess, nil, "example.test."},
		{"NS apex", "example.test.", dns.TypeNS, dns.RcodeSuccess, []string{"ns.example.test."}, ""},
	}
	for _, tt := range tests {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tt.name+"/"+network, func(t *testing.T) {
				r := exchange(t, network, d.Addr(), new(dns.Msg).SetQuestion(tt.qname, tt.qtype), nil)
				if r.Rcode != tt.rcode {
					t.Errorf("rcode = %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				var got []string
				for _, rr := range r.Answer {
					switch rr := rr.(type) {
					case *dns.A:
						got = append(got, rr.A.String())
					case *dns.AAAA:
						got = append(got, rr.AAAA.String())
					case *dns.TXT:
						got = append(got, rr.Txt...)
					case *dns.SOA:
						got = append(got, rr.Ns)
					case *dns.NS:
						got = append(got, rr.Ns)
					}
				}
				if !slices.Equal(got, tt.answer) {
					t.Errorf("answer = %q, want %q", got, tt.answer)
				}
				var auth string
				if len(r.Ns) > 0 {
					auth = r.Ns[0].Header().Name
				}
				if auth != tt.authority {
					t.Errorf("authority = %q, want %q", auth, tt.authority)
				}
			})
		}
	}
}

// TestDNSUpdateForms drives every update form libdns/rfc2136 sends.
func TestDNSUpdateForms(t *testing.T) {
	t.Parallel()
	d := acmetest.NewDNS(t, acmetest.DNSOptions{})
	key := d.Key()
	p := &rfc2136.Provider{KeyName: key.Name, Key: key.Secret, KeyAlg: key.Algorithm, Server: d.Addr()}
	ctx := context.Background()
	const zone = "example.test."
	const name = "_acme-challenge.example.test"
	txt := func(data string) libdns.Record { return libdns.TXT{Name: "_acme-challenge", Text: data} }
	long := string(slices.Repeat([]byte("x"), 300)) // more than one character-string

	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"append", func() error { _, err := p.AppendRecords(ctx, zone, []libdns.Record{txt("a"), txt("b")}); return err }, []string{"a", "b"}},
		{"append duplicate", func() error { _, err := p.AppendRecords(ctx, zone, []libdns.Record{txt("a")}); return err }, []string{"a", "b"}},
		{"delete RR", func() error { _, err := p.DeleteRecords(ctx, zone, []libdns.Record{txt("a")}); return err }, []string{"b"}},
		{"set (delete RRset, add)", func() error { _, err := p.SetRecords(ctx, zone, []libdns.Record{txt(long)}); return err }, []string{long}},
		{"delete RRset", func() error {
			_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_acme-challenge", Type: "TXT"}})
			return err
		}, nil},
		{"append again", func() error { _, err := p.AppendRecords(ctx, zone, []libdns.Record{txt("c")}); return err }, []string{"c"}},
		{"delete name", func() error {
			_, err := p.DeleteRecords(ctx, zone, []libdns.Record{libdns.RR{Name: "_acme-challenge"}})
			return err
		}, nil},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := d.TXT(name); !slices.Equal(got, s.want) {
			t.Fatalf("%s: TXT = %q, want %q", s.name, got, s.want)
		}
		if n := d.Updates(); n != i+1 {
			t.Fatalf("%s: Updates() = %d, want %d", s.name, n, i+1)
		}
	}
	// The long value comes back whole from a query too.
	d.SetTXT(name, long)
	r := exchange(t, "tcp", d.Addr(), new(dns.Msg).SetQuestion(name+".", dns.TypeTXT), nil)
	if len(r.Answer) != 1 || len(r.Answer[0].(*dns.TXT).Txt) != 2 {
		t.Fatalf("long TXT answer = %v", r.Answer)
	}
	d.DeleteTXT(name, "")
	if got := d.TXT(name); len(got) != 0 {
		t.Fatalf("TXT after DeleteTXT = %q", got)
	}
}

func TestDNSUpdateRefused(t *testing.T) {
	t.Parallel()
	d := acmetest.NewDNS(t, acmetest.DNSOptions{TSIG: acmetest.TSIGKey{
		Name:   "Sluice-Key",
		Secret: "cWnu6Ju9zOki4f7Q+da2KKGo0KOXbCf6Pej6hW3geC4=",
	}})
	good := d.Key()
	if good.Name != "sluice-key." || good.Algorithm != dns.HmacSHA256 {
		t.Fatalf("Key() = %+v", good)
	}
	wrongSecret := good
	wrongSecret.Secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	wrongAlg := good
	wrongAlg.Algorithm = dns.HmacSHA512
	unknownKey := good
	unknownKey.Name = "other-key."

	update := func() *dns.Msg {
		m := new(dns.Msg).SetUpdate("example.test.")
		rr, err := dns.NewRR(`_acme-challenge.example.test. 60 IN TXT "x"`)
		if err != nil {
			t.Fatal(err)
		}
		m.Insert([]dns.RR{rr})
		return m
	}
	tests := []struct {
		name  string
		key   *acmetest.TSIGKey
		rcode int
	}{
		{"unsigned", nil, dns.RcodeRefused},
		{"wrong secret", &wrongSecret, dns.RcodeNotAuth},
		{"wrong algorithm", &wrongAlg, dns.RcodeNotAuth},
		{"unknown key", &unknownKey, dns.RcodeNotAuth},
	}
	for i, tt := range tests {
		for _, network := range []string{"udp", "tcp"} {
			r := exchange(t, network, d.Addr(), update(), tt.key)
			if r.Rcode != tt.rcode {
				t.Errorf("%s over %s: rcode = %s, want %s", tt.name, network,
					dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
		}
		if n := d.Updates(); n != 2*(i+1) {
			t.Errorf("%s: Updates() = %d, want %d", tt.name, n, 2*(i+1))
		}
	}
	if got := d.TXT("_acme-challenge.example.test"); len(got) != 0 {
		t.Fatalf("TXT after refused updates = %q", got)
	}

	// The same update signed with the right key goes through, signed back.
	r := exchange(t, "tcp", d.Addr(), update(), &good)
	if r.Rcode != dns.RcodeSuccess || r.IsTsig() == nil {
		t.Fatalf("signed update: rcode %s, tsig %v", dns.RcodeToString[r.Rcode], r.IsTsig())
	}
	if got := d.TXT("_acme-challenge.example.test"); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("TXT = %q, want [x]", got)
	}

	// A record outside the zone is refused whole.
	m := update()
	rr, _ := dns.NewRR(`elsewhere.test. 60 IN TXT "y"`)
	m.Insert([]dns.RR{rr})
	if r := exchange(t, "tcp", d.Addr(), m, &good); r.Rcode != dns.RcodeNotZone {
		t.Fatalf("out-of-zone update: rcode %s, want NOTZONE", dns.RcodeToString[r.Rcode])
	}
}
