// Package emaildomain decides whether an email address's domain may be
// used for an account: not a disposable one (the embedded list of the
// disposable-email-domains project, and the operators' additions), not one
// the operators prohibit, and one that can receive mail (DNS: it exists,
// has a mail server, and does not publish a null MX). It keeps the
// operators' rules (the email_domains table) and records their changes as
// audit events. No HTTP.
//
// A rule on a domain covers its subdomains: x.mailinator.com is as
// disposable as mailinator.com. The operators' rules decide first, the
// most specific one winning (an allowed sub.example.com under a
// prohibited example.com is allowed, itself and its subdomains only);
// then the embedded lists, the same way (the project's allowlist wins over
// its blocklist). Domains are compared in their ASCII form: lower case,
// without a trailing dot, IDNs in punycode.
package emaildomain

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// The embedded lists (data/README.md says where they come from).
var (
	//go:embed data/disposable_email_blocklist.conf
	embeddedBlocklist string
	//go:embed data/allowlist.conf
	embeddedAllowlist string
	//go:embed data/additions.conf
	embeddedAdditions string
)

// Causes of the refusals, for errors.Is.
var (
	// ErrInvalid: the address has no valid domain.
	ErrInvalid = errors.New("emaildomain: not a valid domain")
	// ErrDisposable: the domain gives out throwaway addresses.
	ErrDisposable = errors.New("emaildomain: disposable domain")
	// ErrProhibited: an operator refuses the domain.
	ErrProhibited = errors.New("emaildomain: prohibited domain")
	// ErrNoMail: the domain cannot receive email (DNS).
	ErrNoMail = errors.New("emaildomain: domain cannot receive email")
)

// MaxDomainLength is the longest domain in ASCII form (RFC 1035, without
// the root's dot).
const MaxDomainLength = 253

// Normalize returns a domain in the form rules are kept and compared in:
// lower case, without one trailing dot, an internationalised name in
// punycode (IDNA 2008, UTS 46 lookup mapping). It refuses, with
// ErrInvalid, anything that is not a DNS host name: empty labels, labels
// over 63 characters or with characters other than letters, digits and
// inner hyphens, a name over 253 characters, an all-numeric last label
// (an IP address).
func Normalize(domain string) (string, error) {
	d := strings.TrimSuffix(domain, ".")
	if d == "" || len(d) > 4*MaxDomainLength {
		return "", fmt.Errorf("%w: %q", ErrInvalid, domain)
	}
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("%w: %q is not UTF-8", ErrInvalid, domain)
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalid, domain, err)
	}
	// A name spelt in Unicode must come back as itself from its punycode:
	// the form kept must normalise to itself.
	if !isASCII(d) {
		if again, err := idna.Lookup.ToASCII(a); err != nil || again != a {
			return "", fmt.Errorf("%w: %q has no stable ASCII form", ErrInvalid, domain)
		}
	}
	if len(a) > MaxDomainLength {
		return "", fmt.Errorf("%w: %q is too long", ErrInvalid, domain)
	}
	last := ""
	for label := range strings.SplitSeq(a, ".") {
		if !hostLabel(label) {
			return "", fmt.Errorf("%w: %q", ErrInvalid, domain)
		}
		last = label
	}
	if strings.Trim(last, "0123456789") == "" {
		return "", fmt.Errorf("%w: %q ends in a number", ErrInvalid, domain)
	}
	return a, nil
}

// deviations are the characters that IDNA 2008 keeps and IDNA 2003 (still
// used by some mail software) maps to others or removes: faß.de is
// xn--fa-hia.de to one and fass.de to the other.
const deviations = "\u00df\u03c2\u200c\u200d"

// canonical reports whether a domain, written as in an address (without
// its trailing dot), is the domain whose ASCII form is ascii, spelt so
// that every mail server reads it as that domain: in ASCII, in any case;
// internationalised, exactly as unicode (the normal form: lower case,
// NFC, nothing mapped away or to another character) and without
// deviation characters.
func canonical(written, ascii, unicode string) bool {
	if isASCII(written) {
		return strings.EqualFold(written, ascii)
	}
	return written == unicode && !strings.ContainsAny(written, deviations)
}

// plainLocalPart reports whether the part of an address before its last @
// is printable UTF-8 without the characters that route mail elsewhere
// than the domain after that @ (the percent hack, bang paths, a quoted or
// commented @) or that mail software reads apart.
func plainLocalPart(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool {
		return !unicode.IsPrint(r) || strings.ContainsRune(" %!@\"()<>[]\\,;:", r)
	}) < 0
}

// isASCII reports whether s has only ASCII characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hostLabel reports whether s is a label of a host name: 1 to 63 lower-case
// letters, digits and hyphens, not starting or ending with a hyphen.
func hostLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// parents calls fn with domain, then each of its parents (a.b.c, b.c, c)
// until fn returns true; it allocates nothing.
func parents(domain string, fn func(d string) bool) {
	for d := domain; ; {
		if fn(d) {
			return
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return
		}
		d = d[i+1:]
	}
}

// list is an immutable set of domains, each disposable or allowed.
type list map[string]bool // true: allowed

// add adds the domains of a list file (one a line; blank lines and
// lines starting with # are skipped) to l, as allowed or not.
func (l list) add(data string, allowed bool) {
	for line := range strings.Lines(data) {
		d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(line), "."))
		if d == "" || d[0] == '#' {
			continue
		}
		if allowed || !l[d] { // the allowlist wins
			l[d] = allowed
		}
	}
}

// match returns the most specific entry covering domain: the listed
// domain and whether it is allowed, or "" when none covers it.
func (l list) match(domain string) (listed string, allowed bool) {
	parents(domain, func(d string) bool {
		a, ok := l[d]
		if ok {
			listed, allowed = d, a
		}
		return ok
	})
	return listed, allowed
}

// DefaultDNSTimeout bounds the DNS check of one address: past it, the
// address is accepted.
const DefaultDNSTimeout = 2 * time.Second

// Config holds the settings of the check.
type Config struct {
	// CheckDNS refuses domains that cannot receive mail (--email-check-dns).
	CheckDNS bool
	// Resolver answers the DNS check (nil: net.DefaultResolver).
	Resolver Resolver
	// DNSTimeout bounds the DNS check of one address (0:
	// DefaultDNSTimeout).
	DNSTimeout time.Duration
	// DNSCanaries are domains known to receive mail (nil:
	// DefaultDNSCanaries). Before the DNS check refuses a domain, the
	// resolver must find an MX record of one of them: a resolver that
	// says every name is missing (a sandbox, a broken network) must not
	// refuse every address.
	DNSCanaries []string
}

// DefaultDNSCanaries are the canaries of the DNS check: large mail
// providers whose MX records have not changed in years.
var DefaultDNSCanaries = []string{"gmail.com", "outlook.com", "yahoo.com"}

// Service checks addresses' domains and keeps the operators' rules. It is
// safe for concurrent use.
type Service struct {
	store    *store.Store // nil: the embedded lists only
	embedded list
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	// canary caches whether the resolver can be trusted to say a domain
	// is missing (resolverTrusted).
	canary canaryState
}

// New returns a Service over the operators' rules of st (nil: none) and
// the embedded lists. now may be nil (the wall clock).
func New(st *store.Store, cfg Config, log *slog.Logger, now func() time.Time) *Service {
	if cfg.DNSTimeout <= 0 {
		cfg.DNSTimeout = DefaultDNSTimeout
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.DNSCanaries == nil {
		cfg.DNSCanaries = DefaultDNSCanaries
	}
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	l := make(list, 5000)
	l.add(embeddedBlocklist, false)
	l.add(embeddedAdditions, false)
	l.add(embeddedAllowlist, true)
	return &Service{store: st, embedded: l, cfg: cfg, log: log, now: now}
}

// Embedded returns the number of disposable domains of the embedded list
// (without the allowed ones), for tests and the operators' listing.
func (s *Service) Embedded() int {
	n := 0
	for _, allowed := range s.embedded {
		if !allowed {
			n++
		}
	}
	return n
}

// Verdict is what the lists say of a domain.
type Verdict struct {
	// Domain is the domain checked, normalised.
	Domain string
	// Kind is the rule that decided: store.EmailDomainDisposable,
	// store.EmailDomainProhibited, store.EmailDomainAllowed, or "" when
	// no rule covers the domain.
	Kind string
	// Listed is the domain of that rule (Domain or a parent), Reason the
	// operator's reason, Operator whether the rule is an operator's
	// (else the embedded lists').
	Listed   string
	Reason   string
	Operator bool
}

// Refused reports whether the verdict refuses the domain.
func (v Verdict) Refused() bool {
	return v.Kind == store.EmailDomainDisposable || v.Kind == store.EmailDomainProhibited
}

// Lookup returns the lists' verdict on a domain (not the DNS's): the
// operators' rules (one query), then the embedded lists. The work does not
// grow with the lists: a map, and one indexed query, over the domain and
// its parents.
func (s *Service) Lookup(ctx context.Context, domain string) (Verdict, error) {
	d, err := Normalize(domain)
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Domain: d}
	if s.store != nil {
		var names []string
		parents(d, func(p string) bool { names = append(names, p); return false })
		rules, err := s.store.EmailDomainsAmong(ctx, names)
		if err != nil {
			return v, fmt.Errorf("emaildomain: %w", err)
		}
		// The most specific rule wins: the longest domain.
		for _, r := range rules {
			if len(r.Domain) > len(v.Listed) {
				v.Kind, v.Listed, v.Reason, v.Operator = r.Kind, r.Domain, r.Reason, true
			}
		}
		if v.Operator {
			return v, nil
		}
	}
	if listed, allowed := s.embedded.match(d); listed != "" {
		v.Listed, v.Kind = listed, store.EmailDomainDisposable
		if allowed {
			v.Kind = store.EmailDomainAllowed
		}
	}
	return v, nil
}

// Check decides whether an address may be used for an account: its
// domain (after the last @) must be a host name of at least two labels
// that the lists do not refuse and, with Config.CheckDNS, that can receive
// mail. A refusal is a *problem.Error of kind Invalid whose message says
// what to do, and whose cause is ErrInvalid, ErrDisposable, ErrProhibited
// or ErrNoMail; any other error means the lists could not be read. The DNS
// check runs only for a domain the lists do not refuse and no operator
// allows; it lets the address through when the DNS does not answer in
// time or fails (logged).
func (s *Service) Check(ctx context.Context, address string) error {
	at := strings.LastIndexByte(address, '@')
	if at > 0 && !plainLocalPart(address[:at]) {
		return problem.Wrap(ErrInvalid, problem.Invalid, "Use a plain address: the part before the @ may not hold %, !, "+
			"quotes, comments, spaces or invisible characters (some mail servers send such addresses to another domain).")
	}
	written := strings.TrimSuffix(address[at+1:], ".")
	v, err := s.Lookup(ctx, address[at+1:])
	switch {
	case errors.Is(err, ErrInvalid) || at < 0 || !strings.Contains(v.Domain, "."):
		return problem.Wrap(ErrInvalid, problem.Invalid,
			"This address has no valid domain: check it (an address looks like name@example.org).")
	case err != nil:
		return err
	}
	// The domain is shown as the check saw it: never with the invisible
	// characters or look-alike forms the address may hold.
	shown, err := idna.Lookup.ToUnicode(v.Domain)
	if err != nil {
		shown = v.Domain
	}
	switch {
	case v.Kind == store.EmailDomainDisposable:
		return problem.Wrap(ErrDisposable, problem.Invalid, fmt.Sprintf("Addresses at %s are disposable; use an address you "+
			"will keep: we send security notices and account-recovery links there.", shown))
	case v.Kind == store.EmailDomainProhibited:
		msg := fmt.Sprintf("This server does not accept addresses at %s. Use another address.", shown)
		if v.Reason != "" {
			msg = fmt.Sprintf("This server does not accept addresses at %s (%s). Use another address.", shown, v.Reason)
		}
		return problem.Wrap(ErrProhibited, problem.Invalid, msg)
	case !canonical(written, v.Domain, shown):
		// Mail is sent to the address as written: the check must have
		// seen that domain, not one a mapping made of it.
		spell := shown
		if strings.ContainsAny(written, deviations) {
			spell = v.Domain
		}
		return problem.Wrap(fmt.Errorf("%w: %q is not written as %s", ErrInvalid, written, spell), problem.Invalid,
			fmt.Sprintf("Write the domain of this address as %s: as it is written (invisible or look-alike "+
				"characters, another width or case), mail servers may read it as another domain.", spell))
	case v.Kind == store.EmailDomainAllowed && v.Operator, !s.cfg.CheckDNS:
		return nil
	}
	if dead, why := s.deadDomain(ctx, v.Domain); dead {
		return problem.Wrap(fmt.Errorf("%w: %s", ErrNoMail, why), problem.Invalid,
			fmt.Sprintf("The domain %s cannot receive email (no mail server). Check the address.", shown))
	}
	return nil
}
