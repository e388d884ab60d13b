package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

func TestUpstreamRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		rules := []store.UpstreamRule{
			{Pattern: "acme-*", Action: store.RuleDeny, Reason: "our prefix", CreatedAt: at},
			{Pattern: "numpy", Action: store.RuleAllow, SkipMinAge: true, Reason: "CVE fix", CreatedAt: at,
				ExpiresAt: at.Add(72 * time.Hour)},
		}
		for _, r := range rules {
			if err := s.PutUpstreamRule(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		// Replacing a pattern's rule keeps one row.
		rules[0].Action, rules[0].Reason = store.RuleLocal, "ours"
		if err := s.PutUpstreamRule(ctx, rules[0]); err != nil {
			t.Fatal(err)
		}
		got, err := s.UpstreamRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != rules[0] || got[1] != rules[1] {
			t.Fatalf("rules = %+v, want %+v", got, rules)
		}
		if err := s.DeleteUpstreamRule(ctx, "numpy"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUpstreamRule(ctx, "numpy"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
	})
}
