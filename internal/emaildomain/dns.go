package emaildomain

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Resolver answers the DNS questions of the check; *net.Resolver is one,
// tests give another.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// deadDomain reports whether the DNS says that domain cannot receive mail,
// and why: it does not exist (NXDOMAIN), publishes a null MX (RFC 7505: one
// MX record "." of preference 0), or has neither an MX record nor an
// address (RFC 5321's implicit MX). Anything else — an answer, a timeout,
// a failing server — lets the domain through (logged): a DNS outage must
// not stop registrations, and the check is bounded by Config.DNSTimeout.
func (s *Service) deadDomain(ctx context.Context, domain string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DNSTimeout)
	defer cancel()
	dead, why := s.askDNS(ctx, domain)
	if dead && !s.resolverTrusted(ctx) {
		s.log.WarnContext(ctx, "email domain: the resolver finds none of the canary domains; DNS check skipped, address accepted",
			"domain", domain, "canaries", s.cfg.DNSCanaries, "would_refuse", why)
		return false, ""
	}
	return dead, why
}

// askDNS is deadDomain's question to the resolver.
func (s *Service) askDNS(ctx context.Context, domain string) (bool, string) {
	// Fully qualified, so that the resolver's search list never applies.
	fqdn := domain + "."
	mx, err := s.cfg.Resolver.LookupMX(ctx, fqdn)
	switch {
	case len(mx) == 1 && mx[0].Host == "." && mx[0].Pref == 0:
		return true, "null MX"
	case len(mx) > 0:
		return false, ""
	case err != nil && !notFound(err):
		s.failOpen(ctx, domain, "MX", err)
		return false, ""
	}
	addrs, err := s.cfg.Resolver.LookupNetIP(ctx, "ip", fqdn)
	switch {
	case len(addrs) > 0:
		return false, ""
	case err == nil || notFound(err):
		return true, "no MX and no address"
	}
	s.failOpen(ctx, domain, "A/AAAA", err)
	return false, ""
}

// notFound reports whether err says that the name, or a record of the
// type asked, does not exist (NXDOMAIN, or an empty answer).
func notFound(err error) bool {
	e, ok := errors.AsType[*net.DNSError](err)
	return ok && e.IsNotFound
}

// failOpen logs a DNS failure that lets an address through.
func (s *Service) failOpen(ctx context.Context, domain, what string, err error) {
	s.log.WarnContext(ctx, "email domain: DNS check failed, address accepted", "domain", domain, "lookup", what, "err", err)
}

// How long the resolver's verdict on the canaries is kept: a trusted
// resolver for long, an untrusted one briefly (the network may come back).
const (
	canaryTrustedFor   = 10 * time.Minute
	canaryUntrustedFor = time.Minute
)

// canaryState is the cached verdict of resolverTrusted.
type canaryState struct {
	mu      sync.Mutex
	trusted bool
	until   time.Time
}

// resolverTrusted reports whether the resolver finds an MX record of one
// of the canary domains, so that its "no such domain" can be believed.
// The verdict is cached; a lookup that fails for want of time is not.
func (s *Service) resolverTrusted(ctx context.Context) bool {
	s.canary.mu.Lock()
	defer s.canary.mu.Unlock()
	now := s.now()
	if now.Before(s.canary.until) {
		return s.canary.trusted
	}
	for _, d := range s.cfg.DNSCanaries {
		mx, err := s.cfg.Resolver.LookupMX(ctx, d+".")
		if len(mx) > 0 && mx[0].Host != "." {
			s.canary.trusted, s.canary.until = true, now.Add(canaryTrustedFor)
			return true
		}
		if err != nil && !notFound(err) {
			// A timeout says nothing of the resolver's honesty: ask again
			// next time, and let this address through.
			return false
		}
	}
	s.canary.trusted, s.canary.until = false, now.Add(canaryUntrustedFor)
	return false
}
