package emaildomain

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// MaxReasonLength bounds an operator's reason, which refusals show.
const MaxReasonLength = 200

// who names the administrator behind a change (nil: the command line).
func who(by *store.User) (string, int64) {
	if by == nil {
		return "cheeseshop admin", 0
	}
	return by.Username, by.ID
}

// operatorDomain normalises a domain an operator names, refusing an
// invalid one with a message.
func operatorDomain(domain string) (string, error) {
	d, err := Normalize(strings.TrimSpace(domain))
	if err != nil {
		return "", problem.Wrap(err, problem.Invalid, fmt.Sprintf("%q is not a domain name.", domain))
	}
	return d, nil
}

// Block refuses the addresses of a domain and its subdomains, as kind
// (store.EmailDomainDisposable or store.EmailDomainProhibited), replacing
// any rule the domain had; by is the administrator (nil: the command
// line). It returns the domain as kept. Existing accounts keep their
// addresses.
func (s *Service) Block(ctx context.Context, by *store.User, m audit.Meta, domain, kind, reason string) (string, error) {
	if kind != store.EmailDomainDisposable && kind != store.EmailDomainProhibited {
		return "", problem.Errorf(problem.Invalid, "The kind of a refused domain is %s or %s, not %q.",
			store.EmailDomainDisposable, store.EmailDomainProhibited, kind)
	}
	return s.put(ctx, by, m, domain, kind, reason, audit.EmailDomainBlocked)
}

// Allow accepts the addresses of a domain and its subdomains whatever the
// embedded lists say (and without the DNS check), replacing any rule the
// domain had. It returns the domain as kept.
func (s *Service) Allow(ctx context.Context, by *store.User, m audit.Meta, domain, reason string) (string, error) {
	return s.put(ctx, by, m, domain, store.EmailDomainAllowed, reason, audit.EmailDomainAllowed)
}

func (s *Service) put(ctx context.Context, by *store.User, m audit.Meta, domain, kind, reason, tag string) (string, error) {
	d, err := operatorDomain(domain)
	if err != nil {
		return "", err
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if len(reason) > MaxReasonLength {
		return "", problem.Errorf(problem.Invalid, "The reason is too long (at most %d characters): refusals show it.", MaxReasonLength)
	}
	name, id := who(by)
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		details := map[string]any{"domain": d, "kind": kind, "reason": reason, "by": name}
		if old, err := tx.EmailDomain(ctx, d); err == nil {
			details["previous"] = old.Kind
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutEmailDomain(ctx, store.EmailDomain{Domain: d, Kind: kind, Reason: reason, CreatedBy: id, CreatedAt: now}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{ActorID: id, Tag: tag}, details)
	})
	if err != nil {
		return "", fmt.Errorf("emaildomain: %s %s: %w", kind, d, err)
	}
	return d, nil
}

// Remove deletes the operators' rule on a domain (the embedded lists
// decide for it again). It returns the domain as it was kept.
func (s *Service) Remove(ctx context.Context, by *store.User, m audit.Meta, domain string) (string, error) {
	d, err := operatorDomain(domain)
	if err != nil {
		return "", err
	}
	name, id := who(by)
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.EmailDomain(ctx, d)
		if errors.Is(err, store.ErrNotFound) {
			return problem.Errorf(problem.NotFound, "No rule of the operators names %s.", d)
		} else if err != nil {
			return err
		}
		if err := tx.DeleteEmailDomain(ctx, d); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{ActorID: id, Tag: audit.EmailDomainRemoved},
			map[string]any{"domain": d, "kind": old.Kind, "by": name})
	})
	if err != nil {
		if _, ok := problem.As(err); ok {
			return "", err
		}
		return "", fmt.Errorf("emaildomain: remove %s: %w", d, err)
	}
	return d, nil
}

// Rules returns the operators' rules, by domain.
func (s *Service) Rules(ctx context.Context) ([]store.EmailDomain, error) {
	rules, err := s.store.EmailDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("emaildomain: %w", err)
	}
	return rules, nil
}

// Imported counts what an import did.
type Imported struct {
	Read  int // distinct domains in the file
	Added int // new rules; the others had a rule already, kept as it was
}

// Import adds the domains of a list (the embedded list's format: one a
// line; blank lines and lines starting with # are skipped) as disposable,
// for operators who cannot rebuild the server. A domain that already has
// a rule keeps it (an operator's allow stays). The whole file goes in one
// transaction with one event, or nothing does: an invalid line refuses
// it, naming the line.
func (s *Service) Import(ctx context.Context, by *store.User, m audit.Meta, r io.Reader, reason string) (Imported, error) {
	var domains []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		d, err := Normalize(line)
		if err != nil {
			// A binary file's "line" may be long: the message shows its start.
			if len(line) > 80 {
				line = line[:80] + "…"
			}
			return Imported{}, problem.Wrap(err, problem.Invalid, fmt.Sprintf("Line %d: %q is not a domain name; nothing was imported.", n, line))
		}
		if !seen[d] { // the same domain twice (a case or a dot apart) is one
			seen[d] = true
			domains = append(domains, d)
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return Imported{}, problem.Wrap(sc.Err(), problem.Invalid, fmt.Sprintf("Line %d is too long for a domain name "+
			"(is this a list of domains, one a line?); nothing was imported.", n))
	} else if err := sc.Err(); err != nil {
		return Imported{}, fmt.Errorf("emaildomain: import: %w", err)
	}
	reason = strings.Join(strings.Fields(reason), " ")
	if len(reason) > MaxReasonLength {
		return Imported{}, problem.Errorf(problem.Invalid, "The reason is too long (at most %d characters): refusals show it.", MaxReasonLength)
	}
	res := Imported{Read: len(domains)}
	name, id := who(by)
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		res.Added = 0
		for _, d := range domains {
			added, err := tx.AddEmailDomain(ctx, store.EmailDomain{Domain: d, Kind: store.EmailDomainDisposable, Reason: reason,
				CreatedBy: id, CreatedAt: now})
			if err != nil {
				return err
			}
			if added {
				res.Added++
			}
		}
		return audit.Record(ctx, tx, now, m, store.Event{ActorID: id, Tag: audit.EmailDomainImported},
			map[string]any{"read": res.Read, "added": res.Added, "reason": reason, "by": name})
	})
	if err != nil {
		return Imported{}, fmt.Errorf("emaildomain: import: %w", err)
	}
	return res, nil
}
