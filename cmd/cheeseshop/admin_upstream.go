package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"cheeseshop/internal/app"
	"cheeseshop/internal/store"
)

// AdminUpstreamCmd groups the administrators' rules on the names of the
// upstream indexes (--upstream). Running servers read the rules again
// within seconds.
type AdminUpstreamCmd struct {
	Rules  UpstreamRulesCmd  `cmd:"" help:"List the rules on upstream names, expired ones included."`
	Allow  UpstreamAllowCmd  `cmd:"" help:"Proxy a name or pattern (in allow-list mode, only allowed names are); with --skip-min-age, let one project's files through the minimum release age (a break glass, emailed to every administrator)."`
	Deny   UpstreamDenyCmd   `cmd:"" help:"Never proxy a name or pattern."`
	Local  UpstreamLocalCmd  `cmd:"" help:"Let a local project take a name (or pattern) an upstream lists, without review: an administrator's decision made in advance (dependency confusion)."`
	Remove UpstreamRemoveCmd `cmd:"" help:"Remove the rule of a name or pattern."`
}

// UpstreamRulesCmd lists the rules.
type UpstreamRulesCmd struct {
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *UpstreamRulesCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		rs, err := a.Index.UpstreamRules(e.ctx)
		if err != nil {
			return err
		}
		return printRules(e, rs)
	})
}

// printRules prints the rules on upstream names.
func printRules(e *env, rs []store.UpstreamRule) error {
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PATTERN\tACTION\tEXPIRES\tCREATED\tREASON")
	for _, r := range rs {
		action := r.Action
		if r.SkipMinAge {
			action += " (skip min-age)"
		}
		expires := "never"
		if !r.ExpiresAt.IsZero() {
			expires = r.ExpiresAt.UTC().Format("2006-01-02 15:04")
			if !now.Before(r.ExpiresAt) {
				expires += " (expired)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Pattern, action, expires, r.CreatedAt.UTC().Format("2006-01-02 15:04"), r.Reason)
	}
	return tw.Flush()
}

// ruleFlags are the flags every new rule takes.
type ruleFlags struct {
	Reason  string        `help:"Why: kept with the rule, in the event and the listing."`
	Expires time.Duration `help:"Let the rule lapse after this long (72h); 0: never."`
}

// addRule adds r with the flags' reason and expiry, through the index of
// withApp, and prints what it did.
func addRule(e *env, rules *RuleFlags, mail NoticeFlags, rf ruleFlags, r store.UpstreamRule, says string) error {
	if rf.Expires < 0 {
		return fmt.Errorf("--expires must be positive, not %s", rf.Expires)
	}
	r.Reason = rf.Reason
	if rf.Expires > 0 {
		r.ExpiresAt = time.Now().Add(rf.Expires)
	}
	return withApp(e, rules, mail, false, func(a *app.App) error {
		r, err := a.Index.AddUpstreamRule(e.ctx, nil, cliMeta, r)
		if err != nil {
			return err
		}
		if !r.ExpiresAt.IsZero() {
			says += ", until " + r.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		fmt.Fprintf(e.stdout, "%s %s: %s\n", r.Action, r.Pattern, says)
		return nil
	})
}

// UpstreamAllowCmd adds an allow rule.
type UpstreamAllowCmd struct {
	Pattern     string `arg:"" help:"A project name (any spelling), or the start of a normalized name followed by '*' (acme-*)."`
	SkipMinAge  bool   `help:"Let the project's files through the minimum release age (--upstream-min-age) at once: a break glass, for one project name only."`
	ruleFlags   `embed:""`
	RuleFlags   `embed:""`
	NoticeFlags `embed:""`
}

// Run implements the command.
func (c *UpstreamAllowCmd) Run(e *env) error {
	says := "proxied"
	if c.SkipMinAge {
		says = "proxied, its files through the minimum release age at once; the administrators were told"
	}
	return addRule(e, &c.RuleFlags, c.NoticeFlags, c.ruleFlags, store.UpstreamRule{Pattern: c.Pattern, Action: store.RuleAllow, SkipMinAge: c.SkipMinAge}, says)
}

// UpstreamDenyCmd adds a deny rule.
type UpstreamDenyCmd struct {
	Pattern   string `arg:"" help:"A project name (any spelling), or the start of a normalized name followed by '*' (acme-*)."`
	Reason    string `help:"Why: kept with the rule, in the event and the listing."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *UpstreamDenyCmd) Run(e *env) error {
	return addRule(e, &c.RuleFlags, quiet(), ruleFlags{Reason: c.Reason}, store.UpstreamRule{Pattern: c.Pattern, Action: store.RuleDeny},
		"never proxied")
}

// UpstreamLocalCmd adds a local rule.
type UpstreamLocalCmd struct {
	Pattern   string `arg:"" help:"A project name (any spelling), or the start of a normalized name followed by '*' (acme-*)."`
	Reason    string `help:"Why: kept with the rule, in the event and the listing."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *UpstreamLocalCmd) Run(e *env) error {
	return addRule(e, &c.RuleFlags, quiet(), ruleFlags{Reason: c.Reason}, store.UpstreamRule{Pattern: c.Pattern, Action: store.RuleLocal},
		"a local project may take the name although an upstream lists it (it then hides the upstream's)")
}

// UpstreamRemoveCmd removes a rule.
type UpstreamRemoveCmd struct {
	Pattern   string `arg:"" help:"The rule's pattern (any spelling of a name)."`
	RuleFlags `embed:""`
}

// Run implements the command.
func (c *UpstreamRemoveCmd) Run(e *env) error {
	return withApp(e, &c.RuleFlags, quiet(), false, func(a *app.App) error {
		r, err := a.Index.RemoveUpstreamRule(e.ctx, nil, cliMeta, c.Pattern)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "removed the %s rule of %s\n", r.Action, r.Pattern)
		return nil
	})
}
