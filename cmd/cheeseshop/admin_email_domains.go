package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"cheeseshop/internal/emaildomain"
	"cheeseshop/internal/store"
)

// AdminEmailDomainsCmd groups the operators' rules on the domains of new
// accounts' email addresses.
type AdminEmailDomainsCmd struct {
	Block  EmailDomainsBlockCmd  `cmd:"" help:"Refuse new addresses (registration, email change, admin user create) at a domain and its subdomains: as disposable, or prohibited for the reason given, which the refusal shows. Existing accounts keep their addresses."`
	Allow  EmailDomainsAllowCmd  `cmd:"" help:"Accept new addresses at a domain and its subdomains whatever the embedded list of disposable domains says, and without the DNS check."`
	Remove EmailDomainsRemoveCmd `cmd:"" help:"Remove the rule on a domain: the embedded list decides again."`
	List   EmailDomainsListCmd   `cmd:"" help:"List the operators' rules (the embedded list is not shown: see internal/emaildomain/data)."`
	Import EmailDomainsImportCmd `cmd:"" help:"Add the domains of a file (one a line, # comments; the format of the disposable-email-domains project's list) as disposable, without a rebuild. Domains with a rule keep it."`
}

// emailDomains opens the store and runs fn with the email-domain service
// over it.
func emailDomains(e *env, fn func(s *emaildomain.Service) error) error {
	st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(emaildomain.New(st, emaildomain.Config{}, e.log, nil))
}

// EmailDomainsBlockCmd refuses a domain.
type EmailDomainsBlockCmd struct {
	Domain string `arg:"" help:"Domain (subdomains included), in Unicode or punycode."`
	Kind   string `default:"prohibited" enum:"disposable,prohibited" help:"Refused as disposable (the disposable message) or prohibited (the reason given)."`
	Reason string `help:"Why, shown in the refusal of a prohibited domain (at most 200 characters)."`
}

// Run implements the command.
func (c *EmailDomainsBlockCmd) Run(e *env) error {
	return emailDomains(e, func(s *emaildomain.Service) error {
		d, err := s.Block(e.ctx, nil, cliMeta, c.Domain, c.Kind, c.Reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "refused addresses at %s and its subdomains (%s)\n", d, c.Kind)
		return nil
	})
}

// EmailDomainsAllowCmd allows a domain.
type EmailDomainsAllowCmd struct {
	Domain string `arg:"" help:"Domain (subdomains included), in Unicode or punycode."`
	Reason string `help:"Why (kept for the record)."`
}

// Run implements the command.
func (c *EmailDomainsAllowCmd) Run(e *env) error {
	return emailDomains(e, func(s *emaildomain.Service) error {
		d, err := s.Allow(e.ctx, nil, cliMeta, c.Domain, c.Reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "allowed addresses at %s and its subdomains\n", d)
		return nil
	})
}

// EmailDomainsRemoveCmd removes a rule.
type EmailDomainsRemoveCmd struct {
	Domain string `arg:"" help:"Domain of the rule."`
}

// Run implements the command.
func (c *EmailDomainsRemoveCmd) Run(e *env) error {
	return emailDomains(e, func(s *emaildomain.Service) error {
		d, err := s.Remove(e.ctx, nil, cliMeta, c.Domain)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed the rule on %s\n", d)
		return nil
	})
}

// EmailDomainsListCmd lists the rules.
type EmailDomainsListCmd struct{}

// Run implements the command.
func (c *EmailDomainsListCmd) Run(e *env) error {
	return emailDomains(e, func(s *emaildomain.Service) error {
		rules, err := s.Rules(e.ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DOMAIN\tKIND\tSINCE\tREASON")
		for _, r := range rules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Domain, r.Kind, r.CreatedAt.Format("2006-01-02"), r.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "(and %d disposable domains embedded)\n", s.Embedded())
		return nil
	})
}

// EmailDomainsImportCmd imports disposable domains.
type EmailDomainsImportCmd struct {
	File   string `arg:"" type:"existingfile" help:"List of domains, one a line."`
	Reason string `help:"Where the list comes from (kept for the record)."`
}

// Run implements the command.
func (c *EmailDomainsImportCmd) Run(e *env) error {
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	return emailDomains(e, func(s *emaildomain.Service) error {
		res, err := s.Import(e.ctx, nil, cliMeta, f, c.Reason)
		if err != nil {
			return fmt.Errorf("%s: %w", c.File, err)
		}
		fmt.Fprintf(e.stdout, "imported %d disposable domains (%d read; %d had a rule already, kept)\n",
			res.Added, res.Read, res.Read-res.Added)
		return nil
	})
}

// checkNewEmail refuses an address whose domain the lists refuse, unless
// the operator allows any (the DNS is not asked: admin commands run where
// the DNS may not be).
func checkNewEmail(e *env, st *store.Store, email string, allowAny bool) error {
	if allowAny {
		return nil
	}
	if err := emaildomain.New(st, emaildomain.Config{}, e.log, nil).Check(e.ctx, email); err != nil {
		return fmt.Errorf("%w Pass --allow-any-email to create the account anyway.", err)
	}
	return nil
}
