package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kinds of the operators' email domains.
const (
	// EmailDomainDisposable adds a domain to the embedded list of
	// disposable domains.
	EmailDomainDisposable = "disposable"
	// EmailDomainProhibited refuses a domain for the reason the operator
	// gives.
	EmailDomainProhibited = "prohibited"
	// EmailDomainAllowed takes a domain out of the embedded list.
	EmailDomainAllowed = "allowed"
)

// EmailDomain is an operator's rule on the addresses of a domain and its
// subdomains (the domain in ASCII, IDNs in punycode).
type EmailDomain struct {
	Domain    string
	Kind      string
	Reason    string
	CreatedBy int64 // the administrator; 0: the command line
	CreatedAt time.Time
}

const emailDomainColumns = `domain, kind, reason, created_by, created_at`

func scanEmailDomain(row scanner) (EmailDomain, error) {
	var d EmailDomain
	var by sql.NullInt64
	var at int64
	err := row.Scan(&d.Domain, &d.Kind, &d.Reason, &by, &at)
	d.CreatedBy, d.CreatedAt = by.Int64, fromMicros(at)
	return d, err
}

// EmailDomainsAmong returns the operators' rules on any of the domains
// (a domain and its parents, when checking an address: one indexed
// lookup, whatever the number of rules).
func (q q) EmailDomainsAmong(ctx context.Context, domains []string) ([]EmailDomain, error) {
	if len(domains) == 0 {
		return nil, nil
	}
	var b strings.Builder
	args := make([]any, len(domains))
	for i, d := range domains {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i+1)
		args[i] = d
	}
	return queryAll(ctx, q.db, "email domains", scanEmailDomain,
		`SELECT `+emailDomainColumns+` FROM email_domains WHERE domain IN (`+b.String()+`)`, args...)
}

// EmailDomain returns the operators' rule on exactly this domain, or
// ErrNotFound.
func (q q) EmailDomain(ctx context.Context, domain string) (*EmailDomain, error) {
	d, err := scanEmailDomain(q.db.QueryRowContext(ctx, `SELECT `+emailDomainColumns+` FROM email_domains WHERE domain = $1`, domain))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: email domain %q: %w", domain, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("store: email domain %q: %w", domain, err)
	}
	return &d, nil
}

// EmailDomains returns every rule of the operators, by domain.
func (q q) EmailDomains(ctx context.Context) ([]EmailDomain, error) {
	return queryAll(ctx, q.db, "email domains", scanEmailDomain,
		`SELECT `+emailDomainColumns+` FROM email_domains ORDER BY domain`)
}

// PutEmailDomain sets the rule on a domain, replacing any rule it had.
func (q q) PutEmailDomain(ctx context.Context, d EmailDomain) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO email_domains (`+emailDomainColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (domain) DO UPDATE SET kind = excluded.kind, reason = excluded.reason,
			created_by = excluded.created_by, created_at = excluded.created_at`,
		d.Domain, d.Kind, d.Reason, nullID(d.CreatedBy), micros(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put email domain %q: %w", d.Domain, err)
	}
	return nil
}

// AddEmailDomain adds a rule on a domain that has none; it reports false,
// and changes nothing, when the domain already has one (an import leaves
// the operators' own decisions alone).
func (q q) AddEmailDomain(ctx context.Context, d EmailDomain) (bool, error) {
	res, err := q.db.ExecContext(ctx, `INSERT INTO email_domains (`+emailDomainColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (domain) DO NOTHING`, d.Domain, d.Kind, d.Reason, nullID(d.CreatedBy), micros(d.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("store: add email domain %q: %w", d.Domain, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: add email domain %q: %w", d.Domain, err)
	}
	return n == 1, nil
}

// DeleteEmailDomain removes the rule on a domain; it returns ErrNotFound
// when there was none.
func (q q) DeleteEmailDomain(ctx context.Context, domain string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM email_domains WHERE domain = $1`, domain)
	if err != nil {
		return fmt.Errorf("store: delete email domain %q: %w", domain, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete email domain %q: %w", domain, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete email domain %q: %w", domain, ErrNotFound)
	}
	return nil
}
