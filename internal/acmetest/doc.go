// Package acmetest gives tests a real ACME CA and a real DNS server, both
// in-process on 127.0.0.1 and both stopped by t.Cleanup.
//
// NewPebble embeds Pebble's ca, db, va and wfe packages behind an HTTPS
// server; NewDNS runs a miekg/dns server that answers every name with
// 127.0.0.1 and accepts TSIG-signed RFC 2136 updates of TXT records, which is
// what dns-01 needs. The package is meant to be imported only from _test.go
// files, but it is a normal package so that several packages can share it.
//
// Pebble reads its knobs from the environment when a CA is built, so a test
// binary that uses NewPebble must call Setenv from TestMain, before any test
// runs (t.Setenv would forbid t.Parallel):
//
//	func TestMain(m *testing.M) {
//		acmetest.Setenv()
//		os.Exit(m.Run())
//	}
//
// A typical test starts the DNS server first, then picks the ports where the
// load balancer under test will listen, then starts Pebble with those ports,
// because Pebble's validation authority dials fixed ports on whatever address
// the DNS server gives for a name:
//
//	dnsSrv := acmetest.NewDNS(t, acmetest.DNSOptions{})
//	httpPort, tlsPort := freePort(t), freePort(t) // listen on 127.0.0.1:0, note the port, close
//	ca := acmetest.NewPebble(t, acmetest.PebbleOptions{
//		HTTPPort:    httpPort,
//		TLSPort:     tlsPort,
//		DNSResolver: dnsSrv.Addr(),
//	})
//	// Point the ACME client at ca.DirectoryURL(), trusting ca.RootPool()
//	// (or ca.TLSCertPEM() in a config file). For dns-01 through RFC 2136,
//	// send updates to dnsSrv.Addr() signed with dnsSrv.Key(), and have the
//	// client look up zones through dnsSrv.Addr() too.
//	// Verify issued certificates against ca.IssuerRootPool(t).
//
// For certmagic's DNS01Solver that means DNSManager.Resolvers set to
// []string{dnsSrv.Addr()} (otherwise it asks the system resolver for the
// zone's SOA) and PropagationTimeout -1 (otherwise it waits at least 2s
// before its first propagation check; the record is already in place when
// the update returns).
package acmetest
