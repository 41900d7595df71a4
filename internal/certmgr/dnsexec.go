package certmgr

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
	"github.com/miekg/dns"
)

// execSolver answers dns-01 by running a user's program:
//
//	COMMAND present DOMAIN TOKEN VALUE
//	COMMAND cleanup DOMAIN TOKEN VALUE
//
// where the record to publish is a TXT record named _acme-challenge.DOMAIN
// holding VALUE. The same name is in $SLUICE_ACME_RECORD_NAME. Any DNS host
// with a command line tool works this way.
type execSolver struct {
	command    string
	timeout    time.Duration
	delay      time.Duration
	propagated time.Duration // 0: do not check
	resolvers  []string
	now        func() time.Time
}

var (
	_ acmez.Solver = (*execSolver)(nil)
	_ acmez.Waiter = (*execSolver)(nil)
)

func (s *execSolver) Present(ctx context.Context, ch acme.Challenge) error {
	return s.run(ctx, "present", ch)
}

func (s *execSolver) CleanUp(ctx context.Context, ch acme.Challenge) error {
	return s.run(ctx, "cleanup", ch)
}

func (s *execSolver) run(ctx context.Context, verb string, ch acme.Challenge) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	domain := strings.TrimPrefix(ch.Identifier.Value, "*.")
	cmd := exec.CommandContext(ctx, s.command, verb, domain, ch.Token, ch.DNS01KeyAuthorization())
	cmd.Env = append(cmd.Environ(), "SLUICE_ACME_RECORD_NAME="+ch.DNS01TXTRecordName())
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", s.timeout)
		}
		return fmt.Errorf("dns-01 hook %s %s %s: %w; output: %q", s.command, verb, domain, err, msg)
	}
	return nil
}

// Wait waits for the configured delay and then, unless told not to, until
// the resolvers see the record.
func (s *execSolver) Wait(ctx context.Context, ch acme.Challenge) error {
	if err := sleep(ctx, s.delay); err != nil {
		return err
	}
	if s.propagated <= 0 {
		return nil
	}
	name, want := dns.Fqdn(ch.DNS01TXTRecordName()), ch.DNS01KeyAuthorization()
	deadline := s.now().Add(s.propagated)
	for {
		if visible(ctx, s.resolvers, name, want) {
			return nil
		}
		if s.now().After(deadline) {
			return fmt.Errorf("TXT record %s not visible on %s after %s; the hook may not have published it",
				name, strings.Join(s.resolvers, ", "), s.propagated)
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
}

// visible reports whether every resolver answers name with want.
func visible(ctx context.Context, resolvers []string, name, want string) bool {
	c := &dns.Client{Timeout: 5 * time.Second}
	for _, r := range resolvers {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeTXT)
		in, _, err := c.ExchangeContext(ctx, m, r)
		if err != nil || in.Rcode != dns.RcodeSuccess {
			return false
		}
		found := false
		for _, rr := range in.Answer {
			if t, ok := rr.(*dns.TXT); ok && strings.Join(t.Txt, "") == want {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// systemResolvers lists the resolvers of /etc/resolv.conf as host:port.
func systemResolvers() []string {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return []string{"127.0.0.1:53"}
	}
	out := make([]string, len(cc.Servers))
	for i, s := range cc.Servers {
		out[i] = net.JoinHostPort(s, cc.Port)
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
