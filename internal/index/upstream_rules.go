package index

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// MaxRuleReason is the longest reason an upstream rule keeps, in
// characters.
const MaxRuleReason = 500

// rulePatternHelp says what a pattern of an upstream rule is.
const rulePatternHelp = "a pattern is a project name (any spelling: it is normalized) or the start of a normalized name followed by '*' (acme-*)"

// NormalizeRulePattern returns the pattern of an upstream rule as it is
// stored, from an administrator's spelling: a project name normalized
// (PEP 503), or a prefix normalized and followed by "*". An invalid
// pattern is a problem that says what a pattern is.
func NormalizeRulePattern(pattern string) (string, error) {
	p := strings.TrimSpace(pattern)
	if prefix, wild := strings.CutSuffix(p, "*"); wild && prefix != "" && !strings.Contains(prefix, "*") {
		// Normalized with a letter after it, so that a trailing
		// separator ("acme_") is kept as '-'.
		p = strings.TrimSuffix(pep.NormalizeName(prefix+"x"), "x") + "*"
	} else if !wild {
		p = pep.NormalizeName(p)
	}
	if len(p) > MaxNameLength+1 || !ValidRulePattern(p) {
		return "", problem.Errorf(problem.Invalid, "'%s' is not a rule pattern: %s.", truncate(pattern, MaxNameLength+1), rulePatternHelp)
	}
	return p, nil
}

// AddUpstreamRule adds an administrator's rule on upstream names, or
// replaces the rule of its pattern (one rule per pattern): allow (proxied,
// also in allow-list mode; with SkipMinAge a break glass of the minimum
// release age, for a project name only), deny (never proxied) or local
// (a local project may take the name although an upstream lists it). The
// pattern is normalized (NormalizeRulePattern); ExpiresAt zero: never.
// actor is the administrator (nil: the command line). It is recorded as
// an event, and a break glass is emailed to every administrator. The
// proxy of every replica reads the rules again within seconds: nothing is
// journalled. It returns the rule as stored.
func (s *Service) AddUpstreamRule(ctx context.Context, actor *store.User, m audit.Meta, r store.UpstreamRule) (store.UpstreamRule, error) {
	pattern, err := NormalizeRulePattern(r.Pattern)
	if err != nil {
		return r, err
	}
	r.Pattern = pattern
	switch r.Action {
	case store.RuleAllow, store.RuleDeny, store.RuleLocal:
	default:
		return r, problem.Errorf(problem.Invalid, "'%s' is not an action of an upstream rule: allow, deny or local.", truncate(r.Action, 20))
	}
	if r.SkipMinAge && (r.Action != store.RuleAllow || strings.HasSuffix(pattern, "*")) {
		return r, problem.Errorf(problem.Invalid, "Only an allow rule of one project name may skip the minimum release age (a break glass names a project), not '%s'.", pattern)
	}
	now := s.now()
	if !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(now) {
		return r, problem.Errorf(problem.Invalid, "The rule would expire before it starts: give an expiry in the future.")
	}
	r.Reason = truncate(strings.Join(strings.Fields(r.Reason), " "), MaxRuleReason)
	who, whoID := adminName(actor)
	r.CreatedBy, r.CreatedAt = whoID, now
	details := map[string]any{"by": who, "pattern": pattern, "action": r.Action, "skip_min_age": r.SkipMinAge, "reason": r.Reason}
	if !r.ExpiresAt.IsZero() {
		details["expires"] = r.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.PutUpstreamRule(ctx, r); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, store.Event{ProjectName: pattern, ActorID: whoID, Tag: audit.UpstreamRuleAdded}, details)
	})
	if err != nil {
		return r, wrap(err, "add upstream rule %s", pattern)
	}
	s.log.InfoContext(ctx, "upstream rule added", "pattern", pattern, "action", r.Action, "skip_min_age", r.SkipMinAge, "by", who)
	if r.SkipMinAge {
		s.tellBreakGlass(ctx, who, r)
	}
	return r, nil
}

// tellBreakGlass emails every administrator that the minimum release age
// no longer protects a project: a break glass is the one rule that lets
// files in unchecked by time, so every administrator should know of it.
func (s *Service) tellBreakGlass(ctx context.Context, who string, r store.UpstreamRule) {
	admins, err := s.store.Administrators(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "break glass: list administrators", "pattern", r.Pattern, "err", err)
		return
	}
	for _, a := range admins {
		_ = s.mail.Send(ctx, a.Email, "upstream-break-glass", mail.Data{"Username": a.Username, "Project": r.Pattern,
			"By": who, "Reason": r.Reason, "Expires": r.ExpiresAt})
	}
}

// RemoveUpstreamRule removes the rule of a pattern (any spelling of it);
// a NotFound problem when there is none. actor is the administrator (nil:
// the command line). It returns the rule removed.
func (s *Service) RemoveUpstreamRule(ctx context.Context, actor *store.User, m audit.Meta, pattern string) (store.UpstreamRule, error) {
	p, err := NormalizeRulePattern(pattern)
	if err != nil {
		return store.UpstreamRule{}, err
	}
	who, whoID := adminName(actor)
	var removed store.UpstreamRule
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		rules, err := tx.UpstreamRules(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, r := range rules {
			if r.Pattern == p {
				removed, found = r, true
			}
		}
		if err := tx.DeleteUpstreamRule(ctx, p); errors.Is(err, store.ErrNotFound) || (err == nil && !found) {
			return problem.Errorf(problem.NotFound, "No upstream rule has the pattern '%s'.", p)
		} else if err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.now(), m, store.Event{ProjectName: p, ActorID: whoID, Tag: audit.UpstreamRuleRemoved},
			map[string]any{"by": who, "pattern": p, "action": removed.Action})
	})
	if err != nil {
		return removed, wrap(err, "remove upstream rule %s", p)
	}
	s.log.InfoContext(ctx, "upstream rule removed", "pattern", p, "action", removed.Action, "by", who)
	return removed, nil
}

// Proxying reports whether the index proxies upstream indexes
// (Config.Upstream).
func (s *Service) Proxying() bool { return s.cfg.Upstream != nil }

// UpstreamRules returns every rule on upstream names by pattern, expired
// ones included (an expired rule applies to nothing: UpstreamRules.Match).
func (s *Service) UpstreamRules(ctx context.Context) (UpstreamRules, error) {
	rs, err := s.store.UpstreamRules(ctx)
	if err != nil {
		return nil, fmt.Errorf("index: upstream rules: %w", err)
	}
	return rs, nil
}
