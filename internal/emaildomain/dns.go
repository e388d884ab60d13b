package emaildomain

import (
	"context"
	"errors"
	"net"
	"net/netip"
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
