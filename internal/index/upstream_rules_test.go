package index

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUpstreamRules: rules are validated, normalized, replaced by
// pattern, removed, and recorded; a break glass is emailed to the
// administrators.
func TestUpstreamRules(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		outbox := filepath.Join(t.TempDir(), "outbox")
		mailer, err := mail.New("", outbox, "cheeseshop <noreply@index.test>")
		storetest.Must(t, err)
		f := newFixture(t, d, Config{Mailer: mailer})
		admin := &store.User{Username: "root", Email: "root@example.org", PasswordHash: "!", IsAdmin: true}
		storetest.Must(t, f.st.CreateUser(ctx, admin))
		now := time.Now()
		for _, tc := range []struct {
			rule store.UpstreamRule
			want string // the message's start; "" : accepted
		}{
			{store.UpstreamRule{Pattern: "*", Action: store.RuleDeny}, "'*' is not a rule pattern: a pattern is a project name"},
			{store.UpstreamRule{Pattern: "a*b", Action: store.RuleDeny}, "'a*b' is not a rule pattern"},
			{store.UpstreamRule{Pattern: "not a name", Action: store.RuleDeny}, "'not a name' is not a rule pattern"},
			{store.UpstreamRule{Pattern: "numpy", Action: "maybe"}, "'maybe' is not an action"},
			{store.UpstreamRule{Pattern: "acme-*", Action: store.RuleAllow, SkipMinAge: true}, "Only an allow rule of one project name"},
			{store.UpstreamRule{Pattern: "numpy", Action: store.RuleDeny, SkipMinAge: true}, "Only an allow rule of one project name"},
			{store.UpstreamRule{Pattern: "numpy", Action: store.RuleAllow, ExpiresAt: now.Add(-time.Minute)}, "The rule would expire"},
			{store.UpstreamRule{Pattern: "Acme_*", Action: store.RuleDeny, Reason: "ours\nall"}, ""},
			{store.UpstreamRule{Pattern: "NumPy", Action: store.RuleAllow, SkipMinAge: true, Reason: "CVE", ExpiresAt: now.Add(72 * time.Hour)}, ""},
			{store.UpstreamRule{Pattern: "acme-*", Action: store.RuleAllow}, ""}, // replaces the deny
		} {
			_, err := f.svc.AddUpstreamRule(ctx, admin, audit.Meta{}, tc.rule)
			if tc.want == "" && err != nil {
				t.Errorf("%+v: %v", tc.rule, err)
			} else if e, ok := problem.As(err); tc.want != "" && (!ok || e.Kind != problem.Invalid || !strings.HasPrefix(e.Message, tc.want)) {
				t.Errorf("%+v: %v, want %q", tc.rule, err, tc.want)
			}
		}
		rs, err := f.svc.UpstreamRules(ctx)
		storetest.Must(t, err)
		if len(rs) != 2 || rs[0].Pattern != "acme-*" || rs[0].Action != store.RuleAllow || rs[0].CreatedBy != admin.ID ||
			rs[1].Pattern != "numpy" || !rs[1].SkipMinAge || rs[1].Reason != "CVE" || rs[1].ExpiresAt.IsZero() {
			t.Fatalf("rules %+v", rs)
		}
		if rs.Match("numpy", store.RuleAllow, now) == nil {
			t.Error("the break glass does not match")
		}
		msgs, err := mail.ReadOutbox(outbox)
		storetest.Must(t, err)
		if len(msgs) != 1 || msgs[0].To != "root@example.org" || msgs[0].Subject != "Break glass: numpy skips the minimum release age" {
			t.Fatalf("emails %+v", msgs)
		}
		if _, err := f.svc.RemoveUpstreamRule(ctx, nil, audit.Meta{}, "NUMPY"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RemoveUpstreamRule(ctx, nil, audit.Meta{}, "numpy"); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("removed twice: %v", err)
		}
	})
}
