package index

import (
	"testing"
	"time"

	"cheeseshop/internal/store"
)

func TestUpstreamRulesMatch(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rules := UpstreamRules{
		{Pattern: "acme-*", Action: store.RuleDeny},
		{Pattern: "acme-tools", Action: store.RuleAllow},
		{Pattern: "acme-tools-*", Action: store.RuleDeny},
		{Pattern: "numpy", Action: store.RuleAllow, SkipMinAge: true, ExpiresAt: now.Add(time.Hour)},
		{Pattern: "scipy", Action: store.RuleAllow, SkipMinAge: true, ExpiresAt: now},
	}
	for _, tc := range []struct {
		name, action, want string
	}{
		{"acme-secret", store.RuleDeny, "acme-*"},
		{"acme-tools", store.RuleAllow, "acme-tools"},
		{"acme-tools-x", store.RuleDeny, "acme-tools-*"},
		{"acme", store.RuleDeny, ""},
		{"numpy", store.RuleAllow, "numpy"},
		{"scipy", store.RuleAllow, ""}, // expired at now
		{"requests", store.RuleAllow, ""},
	} {
		got := ""
		if r := rules.Match(tc.name, tc.action, now); r != nil {
			got = r.Pattern
		}
		if got != tc.want {
			t.Errorf("Match(%q, %q) = %q, want %q", tc.name, tc.action, got, tc.want)
		}
	}
}

func TestValidRulePattern(t *testing.T) {
	for p, want := range map[string]bool{
		"requests": true, "acme-*": true, "acme*": true, "a*": true,
		"*": false, "": false, "Acme": false, "acme_x": false, "a*b": false, "acme-**": false, "-x": false,
	} {
		if got := ValidRulePattern(p); got != want {
			t.Errorf("ValidRulePattern(%q) = %v, want %v", p, got, want)
		}
	}
}
